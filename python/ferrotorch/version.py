"""torch.version: the PyTorch API level ferrotorch implements, and its own release.

Programs gate features on `torch.__version__` (e.g. `>= "2.0"`), so it reports the PyTorch
release whose behaviour ferrotorch follows, with ferrotorch's own version as the local part."""
ferrotorch_version = "0.1.0"
__version__ = f"2.13.0+ferrotorch.{ferrotorch_version}"
cuda = None
hip = None
xpu = None
debug = False
git_version = "unknown"
