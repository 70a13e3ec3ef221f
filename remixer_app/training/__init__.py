"""Training the embedded separation ensemble (``remixer train``); Qt-free, uses core."""
