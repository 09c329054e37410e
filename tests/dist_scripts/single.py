"""A single process (no launcher): world_size 1 through env://, tcp:// and file://; prints JSON."""
import copy
import json
import os
import tempfile

import ferrotorch as torch
import ferrotorch.distributed as dist
import ferrotorch.nn as nn
from ferrotorch.nn.parallel import DistributedDataParallel as DDP

res = {}


def err(fn):
    try:
        fn()
    except Exception as e:
        return [type(e).__name__, str(e)]
    return None


dist.init_process_group("gloo")  # env://: RANK=0 WORLD_SIZE=1 MASTER_ADDR/PORT from the test
res["env"] = [dist.get_rank(), dist.get_world_size(), dist.get_backend()]
t = torch.tensor([1.0, 2.0])
dist.all_reduce(t, op=dist.ReduceOp.AVG)
outs = [torch.zeros(2)]
dist.all_gather(outs, t)
objs = [None]
dist.all_gather_object(objs, {"x": 1})
res["ops"] = [t.tolist(), outs[0].tolist(), objs, dist.barrier()]
res["twice"] = err(lambda: dist.init_process_group("gloo"))

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
ref = copy.deepcopy(model)
ddp = DDP(model)
x = torch.randn(5, 3)
ddp(x).sum().backward()
ref(x).sum().backward()
res["ddp"] = max(float((a.grad - b.grad).abs().max()) for a, b in zip(model.parameters(), ref.parameters()))
dist.destroy_process_group()

dist.init_process_group("mpi", init_method="tcp://127.0.0.1:29511", rank=0, world_size=1)
res["tcp"] = [dist.get_world_size(), dist.get_backend(), dist.is_initialized()]
dist.destroy_process_group()
dist.init_process_group(init_method="file://" + os.path.join(tempfile.gettempdir(), "ft_rdzv"), rank=0, world_size=1)
res["file"] = [dist.get_world_size(), dist.get_backend()]
dist.destroy_process_group()
res["no_launcher"] = err(lambda: dist.init_process_group("gloo", init_method="tcp://127.0.0.1:29512", rank=0,
                                                         world_size=2))
res["bad_rank"] = err(lambda: dist.init_process_group("gloo", init_method="tcp://127.0.0.1:29512", rank=1,
                                                      world_size=1))
res["after"] = dist.is_initialized()
print(json.dumps(res))
