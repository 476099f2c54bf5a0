"""Local stand-ins for the outside world (chat platforms, exchanges), served on 127.0.0.1 only."""
