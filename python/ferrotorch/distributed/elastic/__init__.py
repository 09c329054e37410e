"""torch.distributed.elastic: the parts training scripts import (errors.record)."""
