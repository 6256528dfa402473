"""Media <-> tensor transforms shared by the backbones and the judges."""
