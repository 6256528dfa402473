"""Networks more than one method builds: the adaLN-Zero drift network and the residual
Gaussian MLP. A network only one method uses lives in that method's module."""
