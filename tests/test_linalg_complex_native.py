"""Complex linear algebra and the general eigendecomposition run in Rust (faer): values and
gradients against PyTorch 2.13, and NumPy's linalg never called."""
import json
import math

import numpy as np
import pytest

import ferrotorch as torch

# recorded with PyTorch 2.13 (seed 0): A [3, 3] and B [3, 2] complex128 from randn; complex
# values as [re, im] pairs, row-major
REF = json.loads(r'''{"A": [[[-1.6337078512790046, -0.2639282150790843], [-0.8916083746245277, -0.514032025577215], [-0.014117210751579252, 0.14870447837369402]], [[0.12529179192450715, -0.5872592889116597], [0.16879915772239815, 0.5186828835783475], [-0.5466015161095477, -1.1279636474434185]], [[-0.4857849707583997, 1.0522274396192584], [-0.31707785630268964, -0.6300342882270243], [0.4771963454102162, 0.7402456070530057]]], "B": [[[-1.5689139384343185, 0.1831297254225422], [-0.7281093953837822, -0.3540896691275881]], [[0.19330018159446627, -0.6491947170871284], [-0.028582025055553358, 0.20372936206684716]], [[-0.005329681573195794, -0.6466459358125315], [-0.7697448827083895, -0.18851205480215036]]], "inv": [[-0.15618996873812824, 0.2751347343428698], [-0.17989509830157455, -0.6639855204762057], [-0.09005609229018363, -0.9892714359208447], [-0.7586890232155916, -0.049245221655293124], [0.4369922541902231, 0.9378337423287764], [0.5516718394520943, 1.4863594907250155], [-0.18415760239911544, -0.12424471112341096], [-0.3424873262117583, 1.4521224519368088], [-0.10732530108091394, 1.0739756059327161]], "det": [[-1.2709316893329456, -0.12877825547386992]], "slogdet": [[[-0.9949057278424454, -0.10080968557779565]], 0.24485753735474053], "solve": [[-0.9103947598007012, -0.40832041216609377], [0.23439148852174274, 0.6157684908616359], [2.8508515290929406, -0.5287448036497912], [0.18696709454670263, -0.881391584462964], [1.883241661533999, 0.7279185461560252], [0.08911256202249901, -0.7620623925748865]], "chol": [[2.611544788165215, 0.0], [0.0, 0.0], [0.0, 0.0], [-0.2400246030808404, 0.2733976140570665], [2.257612397381917, -0.0], [0.0, 0.0], [0.46938748485402065, -0.5858219849572045], [-0.8336617876461675, 0.01152802527863413], [2.087509095570798, 0.0]], "eigh_w": [3.1169623304689478, 5.1963354103028045, 9.352371346725715], "qr_R": [[2.1077003046174796, 0.0], [0.37952988567017976, 0.668155874192586], [0.5336766622934087, -0.7452227834380989], [0.0, 0.0], [1.1241556259472756, 0.0], [-0.9460282008894746, 0.5858786357003765], [0.0, 0.0], [0.0, 0.0], [0.5391442536546973, 0.0]], "qr_Q": [[-0.7751139228380486, -0.1252209408049518], [-0.6058739266685246, 0.045714297288151615], [-0.09928751310030964, 0.06698582204917518], [0.05944478522398183, -0.2786256127709958], [-0.03551755092374579, 0.5201337204605254], [-0.1846500738766318, -0.7829034755647002], [-0.23048104595048846, 0.4992301027399738], [0.09247840070890717, -0.5920085724255244], [-0.057863819349535585, -0.579027776503946]], "svdvals": [2.5203911098727736, 1.4820038496248245, 0.34199755915641605], "eig_L_sorted": [0.8601152028133742, 2.628872693592416, 4.511012103594216], "eig_grad": [8.281981950441898, 0.7779669624517495, 0.03581274182801757, 2.4269942504105386, 5.871161641702416, 0.2846038765478102, 4.542374920435502, 1.5556243332154678, 1.8468564078556986], "cgrad": [[-1.3122595975168334, 0.936639005723122], [2.346505570911439, -0.9555402882736586], [1.4109606946352726, -1.9980058663962774], [-0.09538026022150761, -4.571705287611571], [-3.6727705460707742, 8.005987715012498], [0.9464124416334496, 6.760164086460813], [-0.04954066149694225, -5.050009832442187], [-4.159117459671578, 8.496863699679672], [1.590783413145318, 8.354585036243805]]}''')


def _c(pairs, shape):
    return torch.tensor([complex(re, im) for re, im in pairs], dtype=torch.complex128).reshape(shape)


def _close(t, pairs, tol=1e-10):
    got = t.reshape(-1).tolist()
    assert len(got) == len(pairs)
    for g, (re, im) in zip(got, pairs):
        assert abs(complex(g) - complex(re, im)) <= tol * (1 + abs(complex(re, im))), (g, re, im)


@pytest.fixture
def no_numpy_linalg(monkeypatch):
    def boom(*a, **k):
        raise AssertionError("NumPy linalg called")
    for name in ("inv", "det", "slogdet", "solve", "cholesky", "qr", "svd", "eigh", "eig", "eigvals"):
        monkeypatch.setattr(np.linalg, name, boom)


A = _c([p for row in REF["A"] for p in row], (3, 3))
B = _c([p for row in REF["B"] for p in row], (3, 2))


def test_complex_factorizations_match_pytorch(no_numpy_linalg):
    _close(torch.linalg.inv(A), REF["inv"])
    _close(torch.linalg.det(A), REF["det"])
    sign, logabs = torch.linalg.slogdet(A)
    assert sign.dtype == torch.complex128 and logabs.dtype == torch.float64
    _close(sign, REF["slogdet"][0])
    assert math.isclose(logabs.item(), REF["slogdet"][1], rel_tol=1e-12)
    _close(torch.linalg.solve(A, B), REF["solve"])
    H = A @ A.mH + 3 * torch.eye(3, dtype=torch.complex128)
    _close(torch.linalg.cholesky(H), REF["chol"])
    w, v = torch.linalg.eigh(H)
    assert w.dtype == torch.float64
    assert all(math.isclose(a, b, rel_tol=1e-12) for a, b in zip(w.tolist(), REF["eigh_w"]))
    assert float((H @ v - v * w.to(torch.complex128).unsqueeze(-2)).abs().max()) < 1e-12
    s = torch.linalg.svdvals(A)
    assert s.dtype == torch.float64
    assert all(math.isclose(a, b, rel_tol=1e-12) for a, b in zip(s.tolist(), REF["svdvals"]))
    U, S, Vh = torch.linalg.svd(A)
    assert float((U @ (S.to(torch.complex128).unsqueeze(-1) * Vh) - A).abs().max()) < 1e-12
    Q, R = torch.linalg.qr(A)
    # Householder QR with LAPACK's conventions gives PyTorch's factors exactly (R's diagonal real)
    _close(R, REF["qr_R"])
    _close(Q, REF["qr_Q"])


def test_complex64_computes_and_returns_complex64(no_numpy_linalg):
    a = A.to(torch.complex64)
    for out in (torch.linalg.inv(a), torch.linalg.det(a), torch.linalg.solve(a, B.to(torch.complex64))):
        assert out.dtype == torch.complex64
    _close(torch.linalg.inv(a).to(torch.complex128), REF["inv"], tol=1e-5)


def test_complex_gradients_match_pytorch():
    Ac = A.clone().requires_grad_()
    (torch.linalg.inv(Ac).abs().sum() + torch.linalg.det(Ac).abs()).backward()
    _close(Ac.grad, REF["cgrad"], tol=1e-9)


def test_eig_values_vectors_and_gradient(no_numpy_linalg):
    M = torch.tensor([[4., 1., 2.], [0.5, 3., 1.], [0.2, 0.1, 1.]], dtype=torch.float64, requires_grad=True)
    L, V = torch.linalg.eig(M)
    assert L.dtype == V.dtype == torch.complex128 and type(torch.linalg.eig(M)).__name__ == "linalg_eig"
    assert sorted(x.real for x in L.tolist()) == pytest.approx(REF["eig_L_sorted"], rel=1e-12)
    # A V = V diag(L), unit-norm columns
    Mc = M.detach().to(torch.complex128)
    assert float((Mc @ V - V * L.unsqueeze(-2)).abs().max()) < 1e-12
    assert torch.allclose((V.abs() ** 2).sum(-2), torch.ones(3, dtype=torch.float64))
    loss = (L.real ** 2).sum() + (V.abs() ** 2 * torch.arange(1., 4., dtype=torch.float64).unsqueeze(-1)).sum()
    loss.backward()
    assert M.grad.dtype == torch.float64
    assert all(math.isclose(a, b, rel_tol=1e-8, abs_tol=1e-10) for a, b in zip(M.grad.reshape(-1).tolist(), REF["eig_grad"]))


def test_eig_complex_eigenvalues_conventions_and_errors():
    L, V = torch.linalg.eig(torch.tensor([[0., -1.], [1., 0.]]))
    assert L.dtype == torch.complex64
    assert sorted(x.imag for x in L.tolist()) == pytest.approx([-1.0, 1.0])
    # each eigenvector's first largest component is real (LAPACK's normalisation)
    for j in range(2):
        assert abs(V[0, j].imag.item()) < 1e-7 and V[0, j].real.item() > 0
    w = torch.linalg.eigvals(torch.tensor([[1., 2.], [3., 4.]], dtype=torch.float64))
    assert sorted(x.real for x in w.tolist()) == pytest.approx([-0.3722813232690143, 5.372281323269014])
    assert torch.linalg.eig(torch.ones(0, 0)).eigenvalues.shape == (0,)
    batch = torch.randn(4, 3, 3, dtype=torch.float64)
    Lb, Vb = torch.linalg.eig(batch)
    assert Lb.shape == (4, 3) and Vb.shape == (4, 3, 3)
    assert float((batch.to(torch.complex128) @ Vb - Vb * Lb.unsqueeze(-2)).abs().max()) < 1e-10
    with pytest.raises(RuntimeError, match="A must be batches of square matrices, but they are 2 by 3 matrices"):
        torch.linalg.eig(torch.ones(2, 3))
    with pytest.raises(RuntimeError, match="linalg.eigvals: A must be batches of square matrices, but they are 2 by 3"):
        torch.linalg.eigvals(torch.ones(2, 3))
    with pytest.raises(RuntimeError, match="linalg.eigvals: The input tensor A must have at least 2 dimensions"):
        torch.linalg.eigvals(torch.ones(3))
    with pytest.raises(RuntimeError, match="Unknown Complex ScalarType for Long"):
        torch.linalg.eig(torch.ones(2, 2, dtype=torch.int64))
    with pytest.raises(NotImplementedError, match="linalg_eig_out_cpu"):
        torch.linalg.eig(torch.ones(2, 2, dtype=torch.float16))
    with pytest.raises(RuntimeError, match="should not contain infs or NaNs"):
        torch.linalg.eig(torch.tensor([[float("nan"), 1.], [0., 3.]]))


# recorded with PyTorch 2.13: complete QR of complex128 A[i, j] = ((7i + 3j) % 5 - 2) + ((2i + 5j) % 7 - 3) j
QR_REF = json.loads(r'''[[5, 3, [[-0.34299717028501764, -0.5144957554275265], [0.24705300744206476, 0.05745418777722431], [-0.29339726254337495, -0.10937456199193854], [0.18958781043152395, -0.45499616869434517], [0.13550882724020263, 0.44038442810183215], [0.0, -0.17149858514250882], [-0.32748887033017887, -0.6549777406603576], [0.305975337172448, 0.013124947439032524], [0.4781347200768882, -0.13745350188864972], [0.2638192686990974, -0.15311231458958424], [0.34299717028501764, 0.17149858514250882], [0.07469044411039162, -6.938893903907228e-18], [-0.31007688324714566, -0.635192768768183], [-0.009502335811767092, 0.03283594955557996], [0.5832218820349676, -0.08017935741835536], [-0.17149858514250885, 0.5144957554275265], [0.13214463188761602, 0.3389797078856236], [-0.12085889100109203, 0.16761651625264568], [0.6993093316194061, -0.1347306617153804], [0.049938725626501757, -0.145364954435755], [0.17149858514250882, -0.34299717028501764], [-2.0816681711721685e-17, 0.5113422712172966], [0.3942952959809383, 0.33222523205051324], [-0.034266225871123074, -0.00033493879799365023], [0.551147531335456, -0.1438401375715242]], [[5.830951894845301, 0.0], [-2.057983021710106, -1.886484436567597], [-1.7149858514250882, 1.6653345369377348e-16], [0.0, 0.0], [5.11916813095069, 0.0], [-1.8615156839820688, -1.3214463188761596], [0.0, 0.0], [0.0, 0.0], [4.104553875152472, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]], [3, 5, [[-0.4588314677411236, -0.6882472016116854], [0.2913971185543098, 0.13245323570650447], [-0.036832740441290424, -0.46040925551613093], [0.0, -0.22941573387056183], [-0.43709567783146464, -0.8344553849509776], [0.15884119315306516, -0.18646574848403316], [0.4588314677411236, 0.2294157338705618], [0.0927172649945531, -0.0397359707119513], [-0.46271130179371156, -0.7159363923275834]], [[4.358898943540673, 0.0], [-1.3764944032233712, -1.1470786693528092], [-1.6059101370939324, -1.3764944032233708], [1.3764944032233708, 2.7529888064467416], [-2.0647416048350564, -0.6882472016116856], [0.0, 0.0], [3.973597071195132, 0.0], [-2.4636301841409827, -0.2649064714130094], [0.7682287670977259, -1.4569855927715485], [1.0993618563639864, 3.3775575105158624], [0.0, 0.0], [0.0, 0.0], [2.8959742171964624, 0.0], [-1.206272249452263, 0.5985320321709696], [-0.22790258148048465, -0.7711855029895189]]], [4, 4, [[-0.3713906763541037, -0.5570860145311556], [0.44489587897209104, 0.15369130364490421], [-0.01183811882077633, -0.33458262140825723], [-0.4386056329659707, -0.16034402113424445], [0.0, -0.18569533817705186], [-0.37209473514029445, -0.7441894702805888], [0.05981365298918562, -0.06729035961283382], [-0.175681275329694, -0.48401984019405475], [0.3713906763541037, 0.18569533817705183], [-0.016178031962621478, 6.938893903907228e-18], [-0.5003162848991259, -0.7582626634149892], [0.03545495125701298, -0.028085101838420466], [-0.18569533817705186, 0.5570860145311556], [0.13751327168228272, 0.25884851140194387], [-0.16324142794965255, 0.1669797812614767], [-0.1902217890474578, -0.6917699197505975]], [[5.385164807134504, 0.0], [-0.9284766908852591, -2.2283440581246223], [-1.8569533817705186, -0.9284766908852594], [-0.18569533817705253, 3.899602101718089], [0.0, 0.0], [4.262911422150764, 0.0], [-2.5318620021502642, 0.06471212785048563], [-0.1132462237383498, -1.8685626916827827], [0.0, 0.0], [0.0, 0.0], [3.0455118313660368, 0.0], [-1.605622747428453, 1.2068650608338816], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [2.054196136593122, 0.0]]]]''')


@pytest.mark.parametrize("case", range(3))
def test_complex_qr_tall_wide_square_equal_pytorch(case, no_numpy_linalg):
    m, n, q_ref, r_ref = QR_REF[case]
    A = torch.tensor([[complex(((i * 7 + j * 3) % 5) - 2.0, ((i * 2 + j * 5) % 7) - 3.0) for j in range(n)]
                      for i in range(m)], dtype=torch.complex128)
    Q, R = torch.linalg.qr(A, mode="complete")
    _close(Q, q_ref)
    _close(R, r_ref)
    Qr, Rr = torch.linalg.qr(A)
    k = min(m, n)
    assert torch.allclose(Qr, Q[:, :k]) and torch.allclose(Rr, R[:k])
