"""The optimizers PyTorch 2.13 ships beyond the classic nine (ASGD, Rprop, Adafactor, LBFGS,
SparseAdam, Muon), swa_utils, swap_in_optimizer_params_and_state and the PyTorch 2.13
scheduler semantics, against numbers recorded from PyTorch 2.13 (CPU) on the same inputs.

The reference literals (REF, SREF) were produced by running the problem definitions below
under real PyTorch; ferrotorch must reproduce them (float32 trajectories to ~1e-5 relative).
"""
import io
import warnings

import numpy as np
import pytest

import ferrotorch as torch
from ferrotorch import optim
from ferrotorch.optim import lr_scheduler, swa_utils

L = lr_scheduler

# --------------------------------------------------------------------------- problems
# deterministic inputs (no RNG): a 3x4 matrix and a 5-vector
INIT = [(np.sin(np.arange(12) * 1.3) * 1.5).reshape(3, 4).astype(np.float32),
        (np.cos(np.arange(5) * 0.7) - 0.2).astype(np.float32)]
TGT = [(np.cos(np.arange(12) * 0.9) * 0.8).reshape(3, 4).astype(np.float32),
       (np.sin(np.arange(5) * 2.1) * 1.1).astype(np.float32)]


def loss_fn(ps):
    """sum((p - t)^2) + 0.025 * sum(p^4) over both tensors."""
    loss = 0
    for p, t in zip(ps, TGT):
        loss = loss + ((p - torch.tensor(t)) ** 2).sum() + 0.025 * (p ** 4).sum()
    return loss


CASES = {
    "asgd": ("ASGD", dict(lr=0.05), 10),
    "asgd_avg": ("ASGD", dict(lr=0.05, lambd=0.01, alpha=0.5, t0=3, weight_decay=0.1), 10),
    "asgd_max": ("ASGD", dict(lr=0.01, maximize=True, t0=2), 6),
    "rprop": ("Rprop", dict(), 10),
    "rprop_opts": ("Rprop", dict(lr=0.1, etas=(0.3, 1.7), step_sizes=(0.01, 0.2)), 10),
    "rprop_max": ("Rprop", dict(lr=0.05, maximize=True), 6),
    "adafactor": ("Adafactor", dict(), 10),
    "adafactor_opts": ("Adafactor", dict(lr=0.05, beta2_decay=-0.5, eps=(1e-20, 1e-2), d=1.5, weight_decay=0.1), 10),
    "adafactor_max": ("Adafactor", dict(lr=0.05, maximize=True), 6),
    "lbfgs": ("LBFGS", dict(lr=0.5, max_iter=4), 2),
    "lbfgs_wolfe": ("LBFGS", dict(max_iter=3, history_size=2, line_search_fn="strong_wolfe"), 2),
}

MUON_CASES = {
    "muon": dict(),
    "muon_opts": dict(lr=0.02, nesterov=False, weight_decay=0.0, adjust_lr_fn="match_rms_adamw", ns_steps=3),
    "muon_tall": dict(lr=0.05, momentum=0.5, adjust_lr_fn="original"),
}


def muon_init():
    a = INIT[0].copy()
    b = np.outer(INIT[1], INIT[1][:3]).astype(np.float32) + 0.1  # 5x3: tall, exercises the transpose
    return [a, b]


def muon_loss(qs):
    return ((qs[0] - 0.3) ** 2).sum() + (qs[1] ** 3).sum()


EMB_INIT = (np.arange(18, dtype=np.float32).reshape(6, 3) / 10 - 0.65)
EMB_IDX = [[0, 2, 2], [1, 2], [5, 0, 3], [2], [4, 4, 1]]

ROSEN_X0 = [-1.5, 2.0, -0.5, 1.2, 0.3]
ROSEN_CASES = {
    "plain64": ("float64", dict(lr=0.1, max_iter=6, history_size=5), 4),
    "wolfe64": ("float64", dict(max_iter=6, history_size=5, line_search_fn="strong_wolfe"), 5),
    "wolfe32": ("float32", dict(max_iter=4, history_size=10, line_search_fn="strong_wolfe"), 3),
    "wolfe_eval64": ("float64", dict(max_iter=10, max_eval=7, history_size=3, line_search_fn="strong_wolfe"), 4),
}


def rosen(x):
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


def describe(sd):
    """state_dict layout: per-state-entry key -> type/dtype/shape (lists by length + first item)."""
    def d(v):
        if isinstance(v, torch.Tensor):
            return "T:" + str(v.dtype).split(".")[-1] + ":" + "x".join(map(str, v.shape))
        if isinstance(v, (list, tuple)):
            items = [x for x in v if x is not None]
            return f"{type(v).__name__}[{len(v)}]" + (":" + d(items[0]) if items else "")
        return type(v).__name__
    state = {str(k): {kk: d(vv) for kk, vv in sorted(v.items())} for k, v in sd["state"].items()}
    groups = [sorted(g.keys()) for g in sd["param_groups"]]
    return {"state": state, "groups": groups}


def mk(lr=0.1, groups=1):
    ps = [torch.zeros(2, requires_grad=True) for _ in range(groups)]
    return torch.optim.SGD([{"params": [p]} for p in ps], lr=lr, momentum=0.9)


L = torch.optim.lr_scheduler
RESUME = {
    "lambda": lambda o, e: L.LambdaLR(o, lambda k: 0.95 ** k + 0.01 * k, last_epoch=e),
    "multiplicative": lambda o, e: L.MultiplicativeLR(o, lambda k: 0.9, last_epoch=e),
    "step": lambda o, e: L.StepLR(o, 3, 0.5, last_epoch=e),
    "multistep": lambda o, e: L.MultiStepLR(o, [2, 5, 5], 0.3, last_epoch=e),
    "constant": lambda o, e: L.ConstantLR(o, 0.25, 4, last_epoch=e),
    "linear": lambda o, e: L.LinearLR(o, 0.1, 0.9, 7, last_epoch=e),
    "exponential": lambda o, e: L.ExponentialLR(o, 0.87, last_epoch=e),
    "polynomial": lambda o, e: L.PolynomialLR(o, 8, 2.0, last_epoch=e),
    "cosine": lambda o, e: L.CosineAnnealingLR(o, 5, 0.001, last_epoch=e),
    "warm_restarts": lambda o, e: L.CosineAnnealingWarmRestarts(o, 3, 2, 0.002, last_epoch=e),
    "cyclic": lambda o, e: L.CyclicLR(o, 0.01, 0.1, 3, last_epoch=e),
    "one_cycle": lambda o, e: L.OneCycleLR(o, 0.5, total_steps=20, last_epoch=e),
}


def swa_model():
    m = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 2))
    with torch.no_grad():
        for i, p in enumerate(m.parameters()):
            vals = np.linspace(-1, 1, p.numel()).reshape(tuple(p.shape)) * (i + 1)
            p.copy_(torch.tensor(vals.astype(np.float32)))
    return m


def swa_inputs():
    return torch.tensor(np.linspace(-2, 2, 24).reshape(8, 3).astype(np.float32))


# --------------------------------------------------------------------------- recorded from PyTorch 2.13 (CPU)
REF = {'layout': {'adafactor': {'groups': [['beta2_decay', 'd', 'eps', 'foreach', 'lr', 'maximize', 'params',
                                      'weight_decay']],
                          'state': {'0': {'col_var': 'T:float32:1x4',
                                          'row_var': 'T:float32:3x1',
                                          'step': 'T:float32:'},
                                    '1': {'step': 'T:float32:', 'variance': 'T:float32:5'}}},
            'adafactor_max': {'groups': [['beta2_decay', 'd', 'eps', 'foreach', 'lr', 'maximize', 'params',
                                          'weight_decay']],
                              'state': {'0': {'col_var': 'T:float32:1x4',
                                              'row_var': 'T:float32:3x1',
                                              'step': 'T:float32:'},
                                        '1': {'step': 'T:float32:', 'variance': 'T:float32:5'}}},
            'adafactor_opts': {'groups': [['beta2_decay', 'd', 'eps', 'foreach', 'lr', 'maximize', 'params',
                                           'weight_decay']],
                               'state': {'0': {'col_var': 'T:float32:1x4',
                                               'row_var': 'T:float32:3x1',
                                               'step': 'T:float32:'},
                                         '1': {'step': 'T:float32:', 'variance': 'T:float32:5'}}},
            'asgd': {'groups': [['alpha', 'capturable', 'differentiable', 'foreach', 'lambd', 'lr',
                                 'maximize', 'params', 't0', 'weight_decay']],
                     'state': {'0': {'ax': 'T:float32:3x4',
                                     'eta': 'T:float32:',
                                     'mu': 'T:float32:',
                                     'step': 'T:float32:'},
                               '1': {'ax': 'T:float32:5',
                                     'eta': 'T:float32:',
                                     'mu': 'T:float32:',
                                     'step': 'T:float32:'}}},
            'asgd_avg': {'groups': [['alpha', 'capturable', 'differentiable', 'foreach', 'lambd', 'lr',
                                     'maximize', 'params', 't0', 'weight_decay']],
                         'state': {'0': {'ax': 'T:float32:3x4',
                                         'eta': 'T:float32:',
                                         'mu': 'T:float32:',
                                         'step': 'T:float32:'},
                                   '1': {'ax': 'T:float32:5',
                                         'eta': 'T:float32:',
                                         'mu': 'T:float32:',
                                         'step': 'T:float32:'}}},
            'asgd_max': {'groups': [['alpha', 'capturable', 'differentiable', 'foreach', 'lambd', 'lr',
                                     'maximize', 'params', 't0', 'weight_decay']],
                         'state': {'0': {'ax': 'T:float32:3x4',
                                         'eta': 'T:float32:',
                                         'mu': 'T:float32:',
                                         'step': 'T:float32:'},
                                   '1': {'ax': 'T:float32:5',
                                         'eta': 'T:float32:',
                                         'mu': 'T:float32:',
                                         'step': 'T:float32:'}}},
            'lbfgs': {'groups': [['history_size', 'line_search_fn', 'lr', 'max_eval', 'max_iter', 'params',
                                  'tolerance_change', 'tolerance_grad']],
                      'state': {'0': {'H_diag': 'T:float32:',
                                      'al': 'list[100]:T:float32:',
                                      'd': 'T:float32:17',
                                      'func_evals': 'int',
                                      'n_iter': 'int',
                                      'old_dirs': 'list[7]:T:float32:17',
                                      'old_stps': 'list[7]:T:float32:17',
                                      'prev_flat_grad': 'T:float32:17',
                                      'prev_loss': 'float',
                                      'ro': 'list[7]:T:float32:',
                                      't': 'float'}}},
            'lbfgs_wolfe': {'groups': [['history_size', 'line_search_fn', 'lr', 'max_eval', 'max_iter',
                                        'params', 'tolerance_change', 'tolerance_grad']],
                            'state': {'0': {'H_diag': 'T:float32:',
                                            'al': 'list[2]:T:float32:',
                                            'd': 'T:float32:17',
                                            'func_evals': 'int',
                                            'n_iter': 'int',
                                            'old_dirs': 'list[2]:T:float32:17',
                                            'old_stps': 'list[2]:T:float32:17',
                                            'prev_flat_grad': 'T:float32:17',
                                            'prev_loss': 'float',
                                            'ro': 'list[2]:T:float32:',
                                            't': 'int'}}},
            'muon': {'groups': [['adjust_lr_fn', 'eps', 'lr', 'momentum', 'nesterov', 'ns_coefficients',
                                 'ns_steps', 'params', 'weight_decay']],
                     'state': {'0': {'momentum_buffer': 'T:float32:3x4'},
                               '1': {'momentum_buffer': 'T:float32:5x3'}}},
            'muon_opts': {'groups': [['adjust_lr_fn', 'eps', 'lr', 'momentum', 'nesterov', 'ns_coefficients',
                                      'ns_steps', 'params', 'weight_decay']],
                          'state': {'0': {'momentum_buffer': 'T:float32:3x4'},
                                    '1': {'momentum_buffer': 'T:float32:5x3'}}},
            'muon_tall': {'groups': [['adjust_lr_fn', 'eps', 'lr', 'momentum', 'nesterov', 'ns_coefficients',
                                      'ns_steps', 'params', 'weight_decay']],
                          'state': {'0': {'momentum_buffer': 'T:float32:3x4'},
                                    '1': {'momentum_buffer': 'T:float32:5x3'}}},
            'rprop': {'groups': [['capturable', 'differentiable', 'etas', 'foreach', 'lr', 'maximize',
                                  'params', 'step_sizes']],
                      'state': {'0': {'prev': 'T:float32:3x4',
                                      'step': 'T:float32:',
                                      'step_size': 'T:float32:3x4'},
                                '1': {'prev': 'T:float32:5',
                                      'step': 'T:float32:',
                                      'step_size': 'T:float32:5'}}},
            'rprop_max': {'groups': [['capturable', 'differentiable', 'etas', 'foreach', 'lr', 'maximize',
                                      'params', 'step_sizes']],
                          'state': {'0': {'prev': 'T:float32:3x4',
                                          'step': 'T:float32:',
                                          'step_size': 'T:float32:3x4'},
                                    '1': {'prev': 'T:float32:5',
                                          'step': 'T:float32:',
                                          'step_size': 'T:float32:5'}}},
            'rprop_opts': {'groups': [['capturable', 'differentiable', 'etas', 'foreach', 'lr', 'maximize',
                                       'params', 'step_sizes']],
                           'state': {'0': {'prev': 'T:float32:3x4',
                                           'step': 'T:float32:',
                                           'step_size': 'T:float32:3x4'},
                                     '1': {'prev': 'T:float32:5',
                                           'step': 'T:float32:',
                                           'step_size': 'T:float32:5'}}},
            'sparse_adam': {'groups': [['betas', 'eps', 'lr', 'maximize', 'params']],
                            'state': {'0': {'exp_avg': 'T:float32:6x3',
                                            'exp_avg_sq': 'T:float32:6x3',
                                            'step': 'int'}}}},
 'muon': {'muon': [0.0007498893, 1.4437182, 0.77319282, -1.0285298, -1.3228319, 0.32215646, 1.4948215,
                   0.47721604, -1.2383996, -1.139827, 0.63021588, 1.4785944, 0.73872215, 0.54878896,
                   0.076937899, 0.55144793, 0.41665548, 0.082044944, 0.076343551, 0.082302094, 0.097342156,
                   -0.46478799, -0.2974636, 0.11860906, -0.81677002, -0.54386938, 0.13459966],
          'muon_opts': [0.0074375002, 1.4364624, 0.77406746, -1.0093054, -1.3101195, 0.31816438, 1.4779087,
                        0.46996003, -1.2199898, -1.1220067, 0.63242638, 1.4730252, 0.73687309, 0.52304941,
                        0.082288869, 0.55237651, 0.3985028, 0.08143992, 0.077733748, 0.079581626, 0.087904826,
                        -0.47472528, -0.28848377, 0.1099882, -0.84120458, -0.52997702, 0.13266644],
          'muon_tall': [0.040584687, 1.3694718, 0.77457762, -0.87135953, -1.2100134, 0.2940329, 1.3459214,
                        0.40348592, -1.0732307, -0.9841789, 0.63149714, 1.4083135, 0.68172204, 0.39248744,
                        0.11273843, 0.52470118, 0.30875853, 0.055831846, 0.087151527, 0.058205511,
                        -0.067703463, -0.50331742, -0.27821121, 0.034801845, -0.96505398, -0.47871804,
                        0.1371309]},
 'rosen': {'plain64': [[[2261.0, 6, 6, 0.1, 5], [1059.1598943436757, 12, 12, 0.1, 5],
                        [407.03896642885775, 18, 18, 0.1, 5], [73.35396544902781, 24, 24, 0.1, 5]],
                       [-1.0733926562862368, 1.1274937766167776, 0.7998779684628474, 0.6806075760878432,
                        0.3899198980735205]],
           'wolfe32': [[[2261.0, 5, 4, 1.0, 3], [43.087684631347656, 10, 8, 1.0, 7],
                        [4.584012985229492, 15, 12, 1.0, 10]],
                       [-0.7306479215621948, 0.5445746183395386, 0.3078314960002899, 0.09645825624465942,
                        0.010072420351207256]],
           'wolfe64': [[[2261.0, 7, 6, 1.0, 5], [7.658808929924734, 14, 12, 1.0, 5],
                        [4.529114047349429, 21, 17, 1.0, 5],
                        [4.335809978099847, 28, 22, 0.5340027305205766, 5],
                        [4.090134009596063, 35, 27, 1.0, 5]],
                       [-0.9441403845269405, 0.9030457780286527, 0.8214924208047056, 0.6712012771182134,
                        0.4452787488707734]],
           'wolfe_eval64': [[[2261.0, 7, 6, 1.0, 3], [7.663563342779527, 14, 12, 1.0, 3],
                             [4.508775184728699, 21, 16, 0.3227419158791035, 3],
                             [4.327652525639591, 28, 21, 0.2872924478944885, 3]],
                            [-0.9025323412267675, 0.8209725645753695, 0.6669324936511317, 0.43506477435521623,
                             0.17666843500900264]]},
 'sparse_adam': [-0.46098167, -0.36127526, -0.26175916, -0.18937424, -0.090645947, 0.004602693, 0.047049955,
                 -0.047050051, -0.071136326, 0.17936896, 0.27936897, 0.37936899, 0.48414397, 0.58414388,
                 0.6841439, 0.779369, 0.87936902, 0.97936904],
 'traj': {'adafactor': [[0.0092484783, 1.4282964, 0.76152909, -1.0279441, -1.3155283, 0.31386495, 1.4818094,
                         0.4823612, -1.2312174, -1.1350622, 0.62204772, 1.4681803, 0.79256845, 0.57227373,
                         -0.037464447, -0.69741452, -1.1347907],
                        [0.089708976, 1.283626, 0.65942657, -0.99592441, -1.2332059, 0.23783858, 1.3452531,
                         0.51458645, -1.1399051, -1.0658108, 0.55000407, 1.3646386, 0.72868544, 0.63464761,
                         -0.10158364, -0.63365293, -1.0701637]],
          'adafactor_max': [[-0.046242394, 1.5305413, 0.83186692, -1.0501752, -1.3734504, 0.36675528,
                             1.577843, 0.46007919, -1.2943518, -1.1825411, 0.67126477, 1.5400463, 0.83715796,
                             0.52768421, 0.0071251076, -0.74200404, -1.1793803],
                            [-0.30174145, 2.0344162, 1.1541833, -1.1549835, -1.6568278, 0.61148494, 2.0465944,
                             0.35682148, -1.5918785, -1.3986876, 0.89350075, 1.8834302, 1.040023, 0.31561723,
                             0.20790596, -0.94575781, -1.3761443]],
          'adafactor_opts': [[0.048115131, 1.349456, 0.70839715, -1.0072148, -1.2683328, 0.27520633,
                              1.4070569, 0.49557462, -1.1807884, -1.0960922, 0.58442414, 1.4104435,
                              0.75884205, 0.59917593, -0.067040652, -0.66416389, -1.0993532],
                             [0.38097379, 0.76050514, 0.25696498, -0.84497774, -0.91138083, -0.038060341,
                              0.83153373, 0.61446339, -0.76829278, -0.76121616, 0.25710067, 0.9476617,
                              0.45766959, 0.81718445, -0.33761853, -0.36922026, -0.77116698]],
          'asgd': [[0.080000006, 1.3354286, 0.67543513, -0.99531502, -1.252762, 0.27337873, 1.3820001,
                    0.51022077, -1.0593182, -1.0406897, 0.49308023, 1.2447853, 0.71743602, 0.6024071,
                    -0.12290262, -0.63075757, -0.92653733],
                   [0.51933646, 0.78900725, 0.14811291, -0.80746788, -0.89024723, 0.002497331, 0.8102662,
                    0.68045443, -0.10513662, -0.50958872, -0.25585678, 0.035939507, 0.27444318, 0.80318105,
                    -0.63170612, -0.23072103, 0.2203245]],
          'asgd_avg': [[0.080000006, 1.3274865, 0.67118609, -0.98964608, -1.2454802, 0.27160558, 1.3737695,
                        0.50759059, -1.0524949, -1.034409, 0.48961699, 1.2366518, 0.71303999, 0.59930331,
                        -0.12273759, -0.6268844, -0.92026079],
                       [0.5076825, 0.75568712, 0.13535009, -0.77790219, -0.85615009, -0.001556529, 0.7760489,
                        0.65958893, -0.08793065, -0.48489314, -0.25786412, 0.017619099, 0.2585952, 0.77875149,
                        -0.61720574, -0.21694742, 0.22923806]],
          'asgd_max': [[-0.016000001, 1.4673162, 0.7928139, -1.038914, -1.3396633, 0.33253959, 1.520975,
                        0.47233194, -1.2782215, -1.1634301, 0.65768337, 1.5272294, 0.81651115, 0.55732805,
                        -0.011458846, -0.71966237, -1.185357],
                       [-0.10093051, 1.5863094, 0.89726144, -1.0778543, -1.4177982, 0.38492987, 1.6465489,
                        0.43874273, -1.4748698, -1.2733698, 0.80390757, 1.7826562, 0.9046973, 0.51733416,
                        0.087134287, -0.79868728, -1.4174113]],
          'lbfgs': [[0.69093007, 0.64275277, -0.053593904, -0.74909961, -0.79189795, -0.10754529, 0.66239423,
                     0.74219656, 0.2231921, -0.3348664, -0.55063981, -0.34993416, 0.10834388, 0.87245822,
                     -0.82546008, -0.077346444, 0.63466918],
                    [0.77140009, 0.50122857, -0.17351006, -0.70843166, -0.7061283, -0.16460699, 0.51197755,
                     0.77436841, 0.46567085, -0.20346428, -0.70143682, -0.67483324, 0.0068212477, 0.90924561,
                     -0.91415322, 0.012474593, 0.88805139]],
          'lbfgs_wolfe': [[0.45632693, 0.8184498, 0.2153178, -0.82442504, -0.91213006, 0.041470524,
                           0.83723938, 0.65875769, -0.20122667, -0.55956209, -0.15216294, 0.13761425,
                           0.32907063, 0.77913189, -0.55977082, -0.28225884, 0.088030741],
                          [0.77589655, 0.49192518, -0.18192388, -0.70581096, -0.70021355, -0.16885431,
                           0.50202638, 0.77616012, 0.48197517, -0.19501123, -0.71139181, -0.69733363,
                           -0.00020314846, 0.91080135, -0.91738409, 0.018807359, 0.90414762]],
          'rprop': [[0.0099999998, 1.4353373, 0.76325208, -1.0216492, -1.315182, 0.31268001, 1.487815,
                     0.48864752, -1.2317398, -1.1329753, 0.62025058, 1.470158, 0.79000002, 0.57484215,
                     -0.040032856, -0.69484609, -1.1322223],
                    [0.25958687, 1.1857505, 0.5136652, -0.77206242, -1.0655951, 0.063093126, 1.2382282,
                     0.7382344, -0.98215294, -0.88338852, 0.3706637, 1.2205712, 0.54041314, 0.82442904,
                     -0.28961971, -0.44525921, -0.88263547]],
          'rprop_max': [[-0.050000001, 1.4953372, 0.82325208, -1.0816492, -1.3751819, 0.37268001, 1.547815,
                         0.42864752, -1.2917397, -1.1929753, 0.68025059, 1.5301579, 0.85000002, 0.51484215,
                         0.019967144, -0.7548461, -1.1922222],
                        [-0.49649605, 1.9418333, 1.2697481, -1.5281453, -1.8216779, 0.81917608, 1.9943111,
                         -0.017848521, -1.7382357, -1.6394713, 1.1267467, 1.9766541, 1.296496, 0.068346113,
                         0.46646321, -1.2013422, -1.6387184]],
          'rprop_opts': [[0.1, 1.3453373, 0.67325205, -0.93164921, -1.2251819, 0.22268, 1.397815, 0.57864755,
                          -1.1417397, -1.0429753, 0.53025055, 1.3801579, 0.69999999, 0.66484219, -0.13003285,
                          -0.60484606, -1.0422223],
                         [0.73860002, 0.53733736, -0.13474798, -0.70304918, -0.70718199, -0.063940011,
                          0.58981502, 0.75370157, 0.62826025, -0.23497534, -0.77974945, -0.38984203,
                          0.061399981, 0.95546228, -0.76463282, 0.033753961, 0.72777772]]}}

SREF = {'ema': [-0.73424494, -0.57916671, -0.42408863, -0.26901042, -0.11393228, 0.04114591, 0.19622411, 0.35130227,
         0.50638044, 0.66145867, 0.81653678, 0.97161502, -1.587175, -0.44993502, 0.68730503, 1.8245449,
         -2.440105, -0.73424494, 0.97161502, 2.6774747, -3.2930348, -1.0185552, 1.2559249, 3.5304048,
         -4.1459646, -2.9274933, -1.709022, -0.4905507, 0.72792071, 1.9463919, 3.1648636, 4.3833351,
         -4.9988947, 5.2362647, -0.21944967, -0.053237677, 0.11297434, 0.27918631, 2.1466262, 1.106215,
         2.650516, 6.7795296],
 'ema2': [-0.63281, -0.48511174, -0.33741361, -0.18971545, -0.042017289, 0.10568091, 0.25337911, 0.40107733,
          0.54877543, 0.69647366, 0.84417182, 0.99187005, -1.4451499, -0.36203003, 0.72109008, 1.8042099,
          -2.2574899, -0.63281, 0.99187005, 2.6165497, -3.0698302, -0.90359014, 1.26265, 3.4288902, -3.88217,
          -2.7216842, -1.5611985, -0.40071285, 0.7597729, 1.9202586, 3.080744, 4.2412305, -4.6945095,
          5.0535703],
 'nested_seq': [0.05, 0.1, 0.09000000000000001, 0.08100000000000002, 0.07290000000000002, 0.1, 0.1, 0.05,
                0.05, 0.025],
 'plateau_keys': ['_last_lr', 'best', 'cooldown', 'cooldown_counter', 'default_min_lr', 'eps', 'factor',
                  'last_epoch', 'min_lrs', 'mode', 'mode_worse', 'num_bad_epochs', 'patience', 'threshold',
                  'threshold_mode'],
 'resume': {'constant': [0.1, 0.1, 0.1, 0.1, 0.1],
            'cosine': [0.035203658778440096, 0.001, 0.010453658778440102, 0.03520365877844012,
                       0.06579634122155993],
            'cyclic': [0.07000000000000003, 0.03999999999999998, 0.01, 0.040000000000000056,
                       0.06999999999999995],
            'exponential': [0.0658503, 0.057289761, 0.04984209207, 0.0433626201009, 0.037725479487783],
            'lambda': [0.085450625, 0.08237809374999999, 0.07950918906249999, 0.07683372960937498,
                       0.07434204312890623],
            'linear': [0.04428571428571429, 0.05336996336996337, 0.062454212454212454, 0.07153846153846154,
                       0.07153846153846154],
            'multiplicative': [0.07290000000000002, 0.06561000000000002, 0.05904900000000002,
                               0.05314410000000002, 0.04782969000000002],
            'multistep': [0.03, 0.0026999999999999997, 0.0026999999999999997, 0.0026999999999999997,
                          0.0026999999999999997],
            'one_cycle': [0.45416407864998737, 0.5, 0.49373200311754367, 0.47524231600673683,
                          0.445458088785525],
            'polynomial': [0.03906250000000001, 0.021972656250000003, 0.009765625000000002,
                           0.0024414062500000004, 0.0],
            'step': [0.05, 0.05, 0.025, 0.025, 0.025],
            'warm_restarts': [0.09343524478543751, 0.07550000000000001, 0.051000000000000004,
                              0.02650000000000001, 0.008564755214562503]},
 'seq_milestone0': [0.1, 0.09000000000000001, 0.08100000000000002, 0.07290000000000002, 0.1, 0.1, 0.05, 0.05],
 'step_keys': ['_get_lr_called_within_step', '_is_initial', '_last_lr', '_step_count', 'base_lrs', 'gamma',
               'last_epoch', 'step_size'],
 'swa': [-0.54178739, -0.40110105, -0.26041475, -0.1197284, 0.020957954, 0.16164432, 0.30233067, 0.44301707,
         0.5837034, 0.72438979, 0.86507607, 1.0057625, -1.3155625, -0.2838625, 0.74783748, 1.7795373,
         -2.0893371, -0.54178739, 1.0057625, 2.5533121, -2.8631124, -0.79971254, 1.2636875, 3.3270874,
         -3.6368871, -2.5314946, -1.4261017, -0.3207089, 0.78468388, 1.8900766, 2.9954693, 4.1008625,
         -4.4106622, 4.8746371],
 'swa_buffers': [-0.39750749, -0.047587514, 0.30233249, 0.65225244, 3.7934678, 2.5633767, 13.498642,
                 36.599266],
 'swa_out': [18.113203, -2.9921336, 14.41156, 3.1615462, 10.709915, 9.3152266, 7.0082726, 15.468906,
             3.3066263, 21.622587, -0.39501524, 27.776264, -4.0966606, 33.929943, -7.7983036, 40.083626],
 'swa_sd_keys': ['n_averaged', 'module.0.weight', 'module.0.bias', 'module.1.weight', 'module.1.bias',
                 'module.1.running_mean', 'module.1.running_var', 'module.1.num_batches_tracked',
                 'module.2.weight', 'module.2.bias'],
 'swalr': {'cos0': [[0.05, 0.01], [0.05, 0.01], [0.05, 0.01], [0.05, 0.01], [0.05, 0.01], [0.05, 0.01]],
           'cos3': [[0.1, 0.1], [0.08750000000000001, 0.07750000000000001],
                    [0.06250000000000001, 0.032500000000000015], [0.05, 0.01], [0.05, 0.01], [0.05, 0.01]],
           'linear4': [[0.1, 0.1], [0.08750000000000001, 0.07750000000000001],
                       [0.07500000000000001, 0.05500000000000001], [0.06250000000000001, 0.0325],
                       [0.05, 0.01], [0.05, 0.01]]},
 'swalr_keys': ['_anneal_strategy', '_get_lr_called_within_step', '_is_initial', '_last_lr', '_step_count',
                'anneal_epochs', 'base_lrs', 'last_epoch'],
 'update_bn': [[-1.2747837, -0.24308383, 0.78861606, 1.820316],
               [1.7736564, 0.0048423908, 2.1637285, 8.2503138], 3]}


def close(actual, expected, rtol=2e-5, atol=2e-6):
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64),
                               rtol=rtol, atol=atol)


def flat(tensors):
    return np.concatenate([t.detach().numpy().ravel() for t in tensors])


def run_case(ctor, kw, steps):
    ps = [torch.tensor(a.copy(), requires_grad=True) for a in INIT]
    opt = getattr(optim, ctor)(ps, **kw)
    snaps = {}
    for k in range(1, steps + 1):
        def closure():
            opt.zero_grad()
            loss = loss_fn(ps)
            loss.backward()
            return loss
        if ctor == "LBFGS":
            opt.step(closure)
        else:
            closure()
            opt.step()
        if k in (1, steps):
            snaps[k] = flat(ps)
    return [snaps[1], snaps[steps]], opt, ps


# --------------------------------------------------------------------------- optimizers
def test_all_pytorch_optimizers_exported():
    names = ['Adafactor', 'Adadelta', 'Adagrad', 'Adam', 'Adamax', 'AdamW', 'ASGD', 'LBFGS', 'lr_scheduler', 'Muon',
             'NAdam', 'Optimizer', 'RAdam', 'RMSprop', 'Rprop', 'SGD', 'SparseAdam',
             'swap_in_optimizer_params_and_state', 'swa_utils']  # torch.optim.__all__ in 2.13
    assert sorted(names) == sorted(optim.__all__)
    for n in names:
        assert hasattr(optim, n)


@pytest.mark.parametrize("name", sorted(CASES))
def test_trajectory_matches_pytorch(name):
    ctor, kw, steps = CASES[name]
    snaps, _, _ = run_case(ctor, kw, steps)
    close(snaps[0], REF["traj"][name][0])
    close(snaps[1], REF["traj"][name][1])


@pytest.mark.parametrize("name", sorted(CASES))
def test_state_dict_layout_like_pytorch(name):
    ctor, kw, steps = CASES[name]
    _, opt, _ = run_case(ctor, kw, steps)
    assert describe(opt.state_dict()) == REF["layout"][name]


@pytest.mark.parametrize("name", sorted(MUON_CASES))
def test_muon_matches_pytorch(name):
    qs = [torch.tensor(a, requires_grad=True) for a in muon_init()]
    opt = optim.Muon(qs, **MUON_CASES[name])
    for _ in range(4):
        opt.zero_grad()
        muon_loss(qs).backward()
        opt.step()
    close(flat(qs), REF["muon"][name], rtol=1e-5)
    assert describe(opt.state_dict()) == REF["layout"][name]


def test_muon_newton_schulz_matches_pytorch_bfloat16():
    from ferrotorch.optim._muon import _zeropower_via_newtonschulz
    out = _zeropower_via_newtonschulz(torch.tensor(INIT[0]), (3.4445, -4.7750, 2.0315), 5, 1e-7)
    assert out.dtype == torch.bfloat16 and tuple(out.shape) == (3, 4)
    expected = [-0.032470703125, 0.65625, 0.166015625, -0.265625, -0.447265625, -0.024658203125,
                0.63671875, 0.0869140625, -0.51171875, -0.291015625, 0.1396484375, 0.66015625]
    np.testing.assert_array_equal(out.float().numpy().ravel(), expected)  # bit-exact bfloat16
    with pytest.raises(ValueError, match="2D matrix"):
        _zeropower_via_newtonschulz(torch.zeros(3), (1, 1, 1), 5, 1e-7)


def _embedding_run(steps_idx):
    emb = torch.nn.Embedding(6, 3, sparse=True)
    with torch.no_grad():
        emb.weight.copy_(torch.tensor(EMB_INIT))
    opt = optim.SparseAdam(list(emb.parameters()), lr=0.1, betas=(0.8, 0.99))
    for idx in steps_idx:
        opt.zero_grad()
        (emb(torch.tensor(idx)) ** 2).sum().backward()
        opt.step()
    return emb, opt


def test_sparse_adam_matches_pytorch_embedding():
    emb, opt = _embedding_run(EMB_IDX)
    close(emb.weight.detach().numpy().ravel(), REF["sparse_adam"], rtol=1e-5)
    assert describe(opt.state_dict()) == REF["layout"]["sparse_adam"]
    assert opt.state[emb.weight]["step"] == len(EMB_IDX)  # a Python int, like PyTorch


def test_sparse_adam_leaves_untouched_rows_alone():
    emb, opt = _embedding_run([[1, 3]])
    w = emb.weight.detach().numpy()
    untouched = [0, 2, 4, 5]
    np.testing.assert_array_equal(w[untouched], EMB_INIT[untouched])
    st = opt.state[emb.weight]
    assert np.all(st["exp_avg"].numpy()[untouched] == 0) and np.all(st["exp_avg_sq"].numpy()[untouched] == 0)
    assert not np.allclose(w[[1, 3]], EMB_INIT[[1, 3]])


@pytest.mark.parametrize("name", sorted(ROSEN_CASES))
def test_lbfgs_rosenbrock_matches_pytorch(name):
    dt, kw, steps = ROSEN_CASES[name]
    x = torch.tensor(ROSEN_X0, dtype=getattr(torch, dt), requires_grad=True)
    opt = optim.LBFGS([x], **kw)
    rtol = 1e-9 if dt == "float64" else 2e-5
    records, final = REF["rosen"][name]
    for rec in records:
        def closure():
            opt.zero_grad()
            loss = rosen(x)
            loss.backward()
            return loss
        loss = opt.step(closure)
        st = opt.state[x]
        close(float(loss), rec[0], rtol=rtol)
        assert [st["func_evals"], st["n_iter"], len(st["old_dirs"])] == [rec[1], rec[2], rec[4]]
        close(float(st["t"]), rec[3], rtol=1e-6 if dt == "float64" else 1e-4)
    close(x.detach().tolist(), final, rtol=rtol, atol=1e-12 if dt == "float64" else 1e-6)


def test_lbfgs_closure_contract():
    x = torch.zeros(3, requires_grad=True)
    opt = optim.LBFGS([x])
    calls = []

    def closure():
        calls.append(torch.is_grad_enabled())
        opt.zero_grad()
        loss = (x ** 2).sum()  # already at the optimum: one evaluation, then stop
        loss.backward()
        return loss

    out = opt.step(closure)
    assert isinstance(out, torch.Tensor) and float(out) == 0.0
    assert calls == [True]
    assert opt.state[x]["func_evals"] == 1 and opt.state[x]["n_iter"] == 0


def test_lbfgs_max_eval_default_and_single_group():
    opt = optim.LBFGS([torch.zeros(2, requires_grad=True)], max_iter=13)
    assert opt.param_groups[0]["max_eval"] == 13 * 5 // 4
    assert opt.defaults == {"lr": 1, "max_iter": 13, "max_eval": 16, "tolerance_grad": 1e-7,
                            "tolerance_change": 1e-9, "history_size": 100, "line_search_fn": None}


ERRORS = [
    ('ASGD', {'lr': -1.0}, 'ValueError', 'Invalid learning rate: -1.0'),
    ('ASGD', {'weight_decay': -0.5}, 'ValueError', 'Invalid weight_decay value: -0.5'),
    ('Rprop', {'lr': -1.0}, 'ValueError', 'Invalid learning rate: -1.0'),
    ('Rprop', {'etas': (1.5, 1.2)}, 'ValueError', 'Invalid eta values: 1.5, 1.2'),
    ('Rprop', {'etas': (0.5, 0.9)}, 'ValueError', 'Invalid eta values: 0.5, 0.9'),
    ('Adafactor', {'lr': -1.0}, 'ValueError', 'Learning rate should be >= 0 but is: -1.0'),
    ('Adafactor', {'beta2_decay': 0.5}, 'ValueError', 'beta2_decay should be <= 0 but is: 0.5'),
    ('Adafactor', {'eps': (-1.0, 0.001)}, 'ValueError', 'epsilon1 should be >= 0 but is: -1.0'),
    ('Adafactor', {'eps': (None, -1.0)}, 'ValueError', 'epsilon2 should be >= 0 but is: -1.0'),
    ('Adafactor', {'d': 0.5}, 'ValueError', 'Clipping threshold d should be >= 1 but is: 0.5'),
    ('Adafactor', {'weight_decay': -1.0}, 'ValueError', 'weight_decay should be >= 0 but is: -1.0'),
    ('LBFGS', {'lr': -1.0}, 'ValueError', 'Invalid learning rate: -1.0'),
    ('SparseAdam', {'lr': 0.0}, 'ValueError', 'Invalid learning rate: 0.0'),
    ('SparseAdam', {'eps': 0.0}, 'ValueError', 'Invalid epsilon value: 0.0'),
    ('SparseAdam', {'betas': (1.0, 0.9)}, 'ValueError', 'Invalid beta parameter at index 0: 1.0'),
    ('SparseAdam', {'betas': (0.9, -0.1)}, 'ValueError', 'Invalid beta parameter at index 1: -0.1'),
    ('Muon', {'lr': -1.0}, 'ValueError', 'Learning rate should be >= 0 but is: -1.0'),
    ('Muon', {'momentum': -1.0}, 'ValueError', 'momentum should be >= 0 but is: -1.0'),
    ('Muon', {'weight_decay': -1.0}, 'ValueError', 'weight decay should be >= 0 but is: -1.0'),
    ('Muon', {'adjust_lr_fn': 'bogus'}, 'ValueError', 'Adjust learning rate function bogus is not supported'),
]


@pytest.mark.parametrize("ctor,kw,etype,msg", ERRORS)
def test_constructor_errors_like_pytorch(ctor, kw, etype, msg):
    with pytest.raises(getattr(__builtins__, etype, None) or eval(etype)) as info:
        getattr(optim, ctor)([torch.zeros(2, 2, requires_grad=True)], **kw)
    assert str(info.value) == msg


def test_structural_errors_like_pytorch():
    with pytest.raises(ValueError) as info:
        optim.Muon([torch.zeros(3, requires_grad=True)])
    assert str(info.value) == ("Muon only supports 2D parameters whereas we found a parameter with size: "
                               "torch.Size([3])")
    with pytest.raises(ValueError, match=r"^LBFGS doesn't support per-parameter options \(parameter groups\)$"):
        optim.LBFGS([{"params": [torch.zeros(1, requires_grad=True)]},
                     {"params": [torch.zeros(1, requires_grad=True)]}])
    x = torch.zeros(2, requires_grad=True)
    opt = optim.LBFGS([x], line_search_fn="armijo")

    def closure():
        opt.zero_grad()
        loss = ((x - 1) ** 2).sum()
        loss.backward()
        return loss
    with pytest.raises(RuntimeError, match="^only 'strong_wolfe' is supported$"):
        opt.step(closure)


@pytest.mark.parametrize("name", ["asgd_avg", "rprop_opts", "adafactor_opts"])
def test_state_dict_round_trip_continues_identically(name):
    ctor, kw, _ = CASES[name]
    whole, _, _ = run_case(ctor, kw, 6)

    ps = [torch.tensor(a.copy(), requires_grad=True) for a in INIT]
    opt = getattr(optim, ctor)(ps, **kw)
    for _ in range(3):
        opt.zero_grad()
        loss_fn(ps).backward()
        opt.step()
    buf = io.BytesIO()
    torch.save(opt.state_dict(), buf)
    buf.seek(0)
    qs = [p.detach().clone().requires_grad_(True) for p in ps]
    opt2 = getattr(optim, ctor)(qs, **kw)
    opt2.load_state_dict(torch.load(buf))
    for _ in range(3):
        opt2.zero_grad()
        loss_fn(qs).backward()
        opt2.step()
    np.testing.assert_array_equal(flat(qs), whole[1])


def test_step_hooks_and_closure_for_new_optimizers():
    for ctor in ["ASGD", "Rprop", "Adafactor", "SparseAdam"]:
        p = torch.tensor([1.0, -2.0], requires_grad=True)
        opt = getattr(optim, ctor)([p])
        seen = []
        opt.register_step_post_hook(lambda o, a, k: seen.append(type(o).__name__))

        def closure():
            opt.zero_grad()
            loss = (p ** 2).sum()
            loss.backward()
            return loss
        loss = opt.step(closure)
        assert float(loss) == 5.0 and seen == [ctor]


def test_swap_in_optimizer_params_and_state():
    p = torch.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = torch.tensor([1.0, 1.0])
    opt.step()
    live_buf = opt.state[p]["momentum_buffer"].clone()
    q = torch.tensor([5.0, 5.0], requires_grad=True)
    sd = {"state": {0: {"momentum_buffer": torch.tensor([10.0, 10.0])}},
          "param_groups": [dict(opt.state_dict()["param_groups"][0], lr=1.0)]}
    with optim.swap_in_optimizer_params_and_state(opt, {"w": q}, sd):
        assert opt.param_groups[0]["params"][0] is q and opt.param_groups[0]["lr"] == 1.0
        q.grad = torch.tensor([1.0, 1.0])
        opt.step()
    # buf = 0.9 * 10 + 1 = 10 (written in place into the supplied state); q = 5 - 1.0 * 10
    np.testing.assert_allclose(sd["state"][0]["momentum_buffer"].numpy(), [10.0, 10.0])
    np.testing.assert_allclose(q.detach().numpy(), [-5.0, -5.0])
    assert opt.param_groups[0]["params"][0] is p and opt.param_groups[0]["lr"] == 0.1
    np.testing.assert_array_equal(opt.state[p]["momentum_buffer"].numpy(), live_buf.numpy())
    with pytest.raises(RuntimeError, match="requires initialized optimizer state"):
        with optim.swap_in_optimizer_params_and_state(optim.SGD([q], lr=0.1), {"w": q}, sd):
            pass


# --------------------------------------------------------------------------- schedulers (PyTorch 2.13 semantics)
@pytest.mark.parametrize("name", sorted(RESUME))
def test_scheduler_resume_with_last_epoch(name):
    """A scheduler rebuilt with last_epoch=N (after loading the optimizer) keeps the current lr at
    construction and continues the schedule, as in PyTorch 2.13."""
    make = RESUME[name]
    o = mk()
    s = make(o, -1)
    for _ in range(3):
        o.step()
        s.step()
    o2 = mk()
    o2.load_state_dict(o.state_dict())
    s2 = make(o2, 3)
    seq = [o2.param_groups[0]["lr"]]
    for _ in range(4):
        o2.step()
        s2.step()
        seq.append(o2.param_groups[0]["lr"])
    close(seq, SREF["resume"][name], rtol=1e-12, atol=0)


@pytest.mark.filterwarnings("ignore:Detected call of")  # PyTorch warns here too (nested construction)
def test_sequential_lr_nested_and_milestone_zero():
    o = mk()
    inner = L.SequentialLR(o, [L.ConstantLR(o, 0.5, 2), L.ExponentialLR(o, 0.9)], [2])
    s = L.SequentialLR(o, [inner, L.StepLR(o, 2, 0.5)], [5])
    seq = [o.param_groups[0]["lr"]]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(9):
            o.step()
            s.step()
            seq.append(o.param_groups[0]["lr"])
    assert caught == []  # switching schedulers at a milestone is not a deprecated epoch= call
    close(seq, SREF["nested_seq"], rtol=1e-12, atol=0)

    o = mk()
    s = L.SequentialLR(o, [L.ConstantLR(o, 0.5, 2), L.ExponentialLR(o, 0.9), L.StepLR(o, 2, 0.5)], [0, 4])
    seq = [o.param_groups[0]["lr"]]
    for _ in range(7):
        o.step()
        s.step()
        seq.append(o.param_groups[0]["lr"])
    close(seq, SREF["seq_milestone0"], rtol=1e-12, atol=0)


def test_scheduler_verbose_removed_and_state_dict_keys():
    with pytest.raises(TypeError):
        L.StepLR(mk(), 2, verbose=True)
    with pytest.raises(TypeError):
        L.ReduceLROnPlateau(mk(), verbose=True)
    assert sorted(L.StepLR(mk(), 2).state_dict()) == SREF["step_keys"]
    assert sorted(L.ReduceLROnPlateau(mk()).state_dict()) == SREF["plateau_keys"]


def test_last_lr_does_not_alias_tensor_lr():
    p = torch.zeros(2, requires_grad=True)
    o = optim.SGD([p], lr=torch.tensor(0.1))
    s = L.ExponentialLR(o, 0.5)
    o.step()
    s.step()
    last = s.get_last_lr()[0]
    assert isinstance(last, torch.Tensor) and last is not o.param_groups[0]["lr"]
    close(float(last), 0.05, rtol=1e-7)
    assert s.base_lrs[0] is not o.param_groups[0]["initial_lr"]


# --------------------------------------------------------------------------- swa_utils
@pytest.mark.parametrize("key", sorted(SREF["swalr"]))
def test_swalr_matches_pytorch(key):
    strat = key.rstrip("0123456789")
    ep = int(key[len(strat):])
    o = mk(groups=2)
    s = swa_utils.SWALR(o, swa_lr=[0.05, 0.01], anneal_epochs=ep, anneal_strategy=strat)
    seq = [[g["lr"] for g in o.param_groups]]
    for _ in range(5):
        o.step()
        s.step()
        seq.append([g["lr"] for g in o.param_groups])
    close(seq, SREF["swalr"][key], rtol=1e-12, atol=1e-15)
    assert sorted(s.state_dict()) == SREF["swalr_keys"]


def test_swalr_errors():
    o = mk()
    with pytest.raises(ValueError, match="anneal_strategy must be one of 'cos' or 'linear', instead got exp"):
        swa_utils.SWALR(o, 0.1, anneal_strategy="exp")
    with pytest.raises(ValueError, match="anneal_epochs must be equal or greater than 0, got -1"):
        swa_utils.SWALR(o, 0.1, anneal_epochs=-1)
    with pytest.raises(ValueError, match="swa_lr must have the same length as optimizer.param_groups"):
        swa_utils.SWALR(o, [0.1, 0.2])
    with pytest.raises(ValueError, match=r"Invalid decay value 1.5 provided. Please provide a value in \[0,1\] range."):
        swa_utils.get_ema_avg_fn(1.5)


def test_averaged_model_swa_ema_and_update_bn():
    m, x = swa_model(), swa_inputs()
    swa = swa_utils.AveragedModel(m)
    ema = swa_utils.AveragedModel(m, multi_avg_fn=swa_utils.get_ema_multi_avg_fn(0.9), use_buffers=True)
    ema2 = swa_utils.AveragedModel(m, avg_fn=swa_utils.get_ema_avg_fn(0.8))
    for k in range(4):
        with torch.no_grad():
            for p in m.parameters():
                p.mul_(0.9).add_(0.05 * (k + 1))
        m.train()
        m(x * (k + 1))
        for a in (swa, ema, ema2):
            a.update_parameters(m)
    close(flat(swa.parameters()), SREF["swa"], rtol=1e-5)
    close(flat([b for b in swa.module.buffers() if b.is_floating_point()]), SREF["swa_buffers"], rtol=1e-5)
    close(flat(list(ema.module.parameters()) + [b for b in ema.module.buffers() if b.is_floating_point()]),
          SREF["ema"], rtol=1e-5)
    close(flat(ema2.parameters()), SREF["ema2"], rtol=1e-5)
    assert int(swa.n_averaged) == 4 and swa.n_averaged.dtype == torch.int64
    assert list(swa.state_dict().keys()) == SREF["swa_sd_keys"]

    swa_utils.update_bn([(x * 0.5, 0), (x + 1, 1), [x - 1, 2]], swa)
    bn = swa.module[1]
    close(flat([bn.running_mean]), SREF["update_bn"][0], rtol=1e-5)
    close(flat([bn.running_var]), SREF["update_bn"][1], rtol=1e-5)
    assert int(bn.num_batches_tracked) == SREF["update_bn"][2]
    assert bn.momentum == 0.1 and swa.training  # restored
    close(flat([swa(x)]), SREF["swa_out"], rtol=1e-5, atol=1e-6)
    with pytest.raises(AssertionError, match="Only one of avg_fn and multi_avg_fn should be provided"):
        swa_utils.AveragedModel(m, avg_fn=swa_utils.get_swa_avg_fn(), multi_avg_fn=swa_utils.get_swa_multi_avg_fn())
