"Localization and segmentation metrics: exact values on hand-built 8×8 maps, tie and empty-ground-truth policies, batches, bad input, agreement with brute force and scikit-learn."
import math
import numpy as np, pandas as pd, pytest, torch, torch.nn as nn
from xai_repro.localization import *
from xai_repro.localization import _average_precision

NAN = float('nan')

def blob():
    "8×8 map: a 2×2 blob of ones at rows/cols 1-2, a 0.5 pixel at (6, 6), zeros elsewhere."
    a = torch.zeros(1, 8, 8); a[0, 1:3, 1:3] = 1; a[0, 6, 6] = .5
    return a

BOX = [torch.tensor([[0, 0, 4, 4]])]  # 16 pixels, contains the blob

def close(a, b, eps=1e-6):
    a, b = (v.detach().cpu().double() if isinstance(v, torch.Tensor) else torch.as_tensor(np.array(v, dtype=np.float64)) for v in (a, b))
    assert a.shape == b.shape, (a.shape, b.shape)
    assert torch.allclose(a, b, atol=eps, rtol=0, equal_nan=True), (a, b)

# ---------------------------------------------------------------- boxes, masks, predicted box
def test_boxes_to_mask_exclusive_and_union():
    m = boxes_to_mask([torch.tensor([[0, 0, 4, 4], [2, 2, 6, 6]]), np.zeros((0, 4)), torch.tensor([3., 3., 3., 7.])], (8, 10))
    assert m.shape == (3, 8, 10) and m.dtype == torch.bool
    assert m[0].sum() == 16 + 16 - 4 and m[0, 3, 3] and not m[0, 6, 6] and m[0, 5, 5]
    assert m[1].sum() == 0 and m[2].sum() == 0  # no box; a zero-width box
    assert boxes_to_mask(torch.tensor([[[0, 0, 10, 8]]]), (8, 10)).all()  # the whole image is allowed

@pytest.mark.parametrize('b,msg', [([[-1, 0, 4, 4]], 'outside'), ([[0, 0, 4, 9]], 'outside'), ([[0, 0, 11, 4]], 'outside'),
                                   ([[5, 0, 4, 4]], 'x1 < x0'), ([[0, 0, 4]], 'K×4'), ([[0, 0, float('nan'), 4]], 'non-finite')])
def test_bad_boxes(b, msg):
    with pytest.raises(ValueError, match=msg): boxes_to_mask([torch.tensor(b)], (8, 10))

def test_gt_mask_checks():
    s = torch.zeros(2, 8, 8)
    with pytest.raises(ValueError, match='1 images and 2 maps'): gt_mask(BOX, s)
    with pytest.raises(ValueError, match='do not match'): gt_mask(torch.zeros(2, 8, 9, dtype=torch.bool), s)
    with pytest.raises(ValueError, match='do not match'): gt_mask(torch.zeros(1, 8, 8, dtype=torch.bool), s)
    with pytest.raises(ValueError, match='bool'): gt_mask(torch.full((2, 8, 8), .5), s)
    with pytest.raises(TypeError, match='list of K×4'): gt_mask('boxes', s)
    assert gt_mask(np.ones((2, 8, 8), bool), s).all()  # numpy masks
    assert gt_mask(torch.ones(2, 8, 8), s).all()  # 0/1 float masks
    assert gt_mask(torch.tensor([[[0, 0, 4, 4]], [[0, 0, 8, 8]]]), s).sum() == 16 + 64  # B×K×4 boxes

@pytest.mark.parametrize('bad,err,msg', [(torch.zeros(8, 8), ValueError, 'B×H×W'), (torch.zeros(1, 8, 8, dtype=torch.long), TypeError, 'float'),
                                         (torch.full((1, 8, 8), float('inf')), ValueError, 'non-finite'), (np.zeros((1, 8, 8)), TypeError, 'torch.Tensor')])
def test_bad_maps_every_metric(bad, err, msg):
    for f in (localization_error, pixel_precision, pixel_recall, pixel_f1, pointing_game, box_acc, pixel_accuracy, average_precision,
              lambda s, b: official_metric(s, b, 0, 0), lambda s, b: segmentation_scores(s, b), lambda s, b: saliency_metric(s, probs=[.5])):
        with pytest.raises(err, match=msg): f(bad, BOX)

def test_predicted_box_mean_threshold_and_components():
    assert predicted_box(blob()).tolist() == [[1, 1, 3, 3]]
    # a larger but weaker blob wins: components are ranked by size, not strength
    a = blob(); a[0, 5:8, 4:8] = .3
    assert predicted_box(a).tolist() == [[4, 5, 8, 8]]
    # L shape: its bounding box, not the component's pixels
    l = torch.zeros(1, 8, 8); l[0, 2:7, 1] = 1; l[0, 6, 1:6] = 1
    assert predicted_box(l).tolist() == [[1, 2, 6, 7]]
    d = torch.zeros(1, 8, 8); d[0, [0, 1, 2], [0, 1, 2]] = 1
    assert predicted_box(d).tolist() == [[0, 0, 3, 3]] and predicted_box(d, connectivity=4).tolist() == [[0, 0, 1, 1]]
    with pytest.raises(ValueError, match='connectivity'): predicted_box(d, connectivity=6)
    with pytest.raises(ValueError, match="'mean' or a number"): predicted_box(d, threshold='median')

@pytest.mark.parametrize('v', [0., .3, 1 / 3, 7.1])
def test_constant_map_has_no_box(v):
    # the mean is computed exactly, so no pixel of a constant map is above it (float32 mean of 0.3 is not 0.3)
    assert predicted_box(torch.full((3, 7, 9), v)).tolist() == [[0, 0, 0, 0]] * 3

def test_predicted_box_batch_matches_brute_force():
    from skimage.measure import label, regionprops
    g = torch.Generator().manual_seed(0)
    s = torch.rand(6, 20, 24, generator=g) ** 3
    got = predicted_box(s)
    for i in range(6):
        m = (s[i].double() > s[i].double().mean()).numpy()
        props = regionprops(label(m, connectivity=2))
        best = max(props, key=lambda p: (p.area, -p.label))
        y0, x0, y1, x1 = best.bbox
        assert got[i].tolist() == [x0, y0, x1, y1]
        assert predicted_box(s[i:i + 1]).tolist() == [got[i].tolist()]  # independent of the rest of the batch

# ---------------------------------------------------------------- OM, LE
def test_box_iou_exact():
    a = torch.tensor([[1, 1, 3, 3], [0, 0, 0, 0], [0, 0, 8, 8]]); b = torch.tensor([[0, 0, 4, 4], [2, 2, 6, 6]])
    close(box_iou(a, b), [[4 / 16, 1 / 19], [0, 0], [16 / 64, 16 / 64]])
    # equals the IoU of the two boxes' pixel masks
    g = torch.Generator().manual_seed(1)
    p = torch.randint(0, 12, (20, 2), generator=g); q = torch.randint(0, 12, (20, 2), generator=g)
    bx = torch.cat([torch.minimum(p, q), torch.maximum(p, q)], 1)
    m = boxes_to_mask([b[None] for b in bx], 12)
    inter = (m[:, None] & m[None]).sum((2, 3)).double(); union = (m[:, None] | m[None]).sum((2, 3)).double()
    close(box_iou(bx, bx), torch.where(union > 0, inter / union.clamp_min(1), 0))

def test_om_le_exact_and_policies():
    s = torch.cat([blob()] * 4 + [torch.zeros(1, 8, 8)])
    gt = [BOX[0], torch.tensor([[0, 0, 4, 4], [1, 1, 3, 3]]), torch.zeros(0, 4), torch.tensor([[2, 2, 2, 6]]), BOX[0]]
    le = localization_error(s, gt)
    assert le.shape == (5,)
    close(le, [.75, 0., NAN, NAN, 1.])  # best box wins; no box / zero-area box: NaN; blank map: no B_p, LE 1
    close(official_metric(s, gt, pred=[0, 1, 0, 0, 0], target=0), [.75, 1., NAN, NAN, 1.])  # wrong class: 1
    close(official_metric(s, gt, pred=torch.tensor([2] * 5), target=torch.tensor([2] * 5)), le)
    with pytest.raises(ValueError, match='targets for 5 images'): official_metric(s, gt, pred=[0, 1], target=0)
    with pytest.raises(ValueError, match='needs boxes'): localization_error(s, torch.zeros(5, 8, 8, dtype=torch.bool))

# ---------------------------------------------------------------- P, R, F1, EP
def test_precision_recall_f1_exact():
    a = blob()
    close(pixel_precision(a, BOX), [8 / 9]); close(pixel_recall(a, BOX), [1 / 4]); close(pixel_f1(a, BOX), [16 / 41])
    assert energy_pointing_game is pixel_precision
    close(pixel_precision(a * 1e3, BOX), [8 / 9])  # scale free
    fake = torch.ones(1, 8, 8); fake[0, 0, 0] = 0; fb = [torch.tensor([[2, 2, 6, 6]])]
    close(pixel_precision(fake, fb), [16 / 63]); close(pixel_recall(fake, fb), [1.]); close(pixel_f1(fake, fb), [32 / 79])
    # the same with the box given as a pixel mask, and a union of two boxes
    two = [torch.tensor([[0, 0, 2, 8], [6, 0, 8, 8]])]
    close(pixel_precision(fake, two), [31 / 63]); close(pixel_recall(fake, boxes_to_mask(two, 8)), [31 / 32])

def test_precision_recall_policies():
    z = torch.zeros(2, 8, 8)
    close(pixel_precision(z, BOX * 2), [0., 0.]); close(pixel_f1(z, BOX * 2), [0., 0.])
    s = torch.cat([blob(), blob()])
    for f in (pixel_precision, pixel_recall, pixel_f1):
        r = f(s, [BOX[0], torch.zeros(0, 4)])
        assert r.shape == (2,) and not r[0].isnan() and r[1].isnan()
    with pytest.raises(ValueError, match='negative'): pixel_precision(-blob(), BOX)
    with pytest.raises(ValueError, match='above 1'): pixel_f1(blob() * 2, BOX)

# ---------------------------------------------------------------- BoxAcc, MaxBoxAcc
def test_box_acc_exact():
    a = blob()
    assert box_acc(a, BOX).tolist() == [0.]  # IoU 1/4
    assert box_acc(a, BOX, delta=.25).tolist() == [1.]
    assert box_acc(a, BOX, eta=.4, delta=.25).tolist() == [1.]  # 0.5 pixel kept but smaller than the blob
    # the map is min-max scaled first: adding a constant changes nothing
    close(box_acc_curve(a + 3, BOX), box_acc_curve(a, BOX))
    # η at or above the map's max keeps nothing: no box, a miss
    assert box_acc(a, BOX, eta=1., delta=.01).tolist() == [0.]

def test_max_box_acc_takes_best_threshold_over_the_dataset():
    # image 0 is localized only for η < 0.5, image 1 only for η >= 0.5: no single η serves both
    m0 = torch.zeros(1, 8, 8); m0[0, :4, :4] = .4; m0[0, 6:, 6:] = 1   # the object is the weaker region
    m1 = torch.zeros(1, 8, 8); m1[0, :4, :4] = 1; m1[0, 4:, :] = .4    # a weaker but larger distractor below
    s, gt = torch.cat([m0, m1]), BOX * 2
    c = box_acc_curve(s, gt, etas=(.2, .5), deltas=(.5,))
    assert c.shape == (2, 2, 1)
    # η=0.2: image 0 box = largest of {object (16 px), corner (4 px)} = object: hit; image 1: object+distractor merge
    assert c[:, :, 0].tolist() == [[1., 0.], [0., 1.]]
    assert max_box_acc(c) == .5
    close(max_box_acc([c[:1], c[1:]]), .5)
    full = box_acc_curve(s, gt)
    assert full.shape == (2, len(ETAS), len(DELTAS)) and ETAS[0] == 0 and ETAS[-1] == .99 and DELTAS == (.3, .5, .7)
    # with an image without boxes: skipped, not counted as a miss
    c3 = box_acc_curve(torch.cat([s, m0]), gt + [torch.zeros(0, 4)], etas=(.2, .5), deltas=(.5,))
    assert c3[2].isnan().all() and max_box_acc(c3) == .5

def test_box_acc_curve_chunks_agree():
    g = torch.Generator().manual_seed(2)
    s = torch.rand(5, 16, 16, generator=g)
    gt = [torch.tensor([[2, 3, 10, 12]])] * 5
    close(box_acc_curve(s, gt, chunk=16 * 16 * 100), box_acc_curve(s, gt))  # one image per labelling call

# ---------------------------------------------------------------- pointing game
def test_pointing_game_exact_and_tolerance():
    s = torch.zeros(3, 8, 8); s[0, 2, 2] = 1; s[1, 7, 7] = 1; s[2, 4, 0] = 1
    close(pointing_game(s, BOX * 3), [1., 0., 0.])
    # distances to the nearest box pixel (3, 3): image 1 √32 ≈ 5.66; image 2 (4, 0): 1
    close(pointing_game(s, BOX * 3, tolerance=1), [1., 0., 0.])  # strict: distance 1 is not < 1
    close(pointing_game(s, BOX * 3, tolerance=2), [1., 0., 1.])
    close(pointing_game(s, BOX * 3, tolerance=6), [1., 1., 1.])
    close(pointing_game(s, BOX * 3, tolerance=5), [1., 0., 1.])
    with pytest.raises(ValueError, match='non-negative integer'): pointing_game(s, BOX * 3, tolerance=-1)
    with pytest.raises(ValueError, match='non-negative integer'): pointing_game(s, BOX * 3, tolerance=1.5)

def test_pointing_game_tolerance_matches_brute_force():
    g = torch.Generator().manual_seed(3)
    s = torch.rand(8, 40, 40, generator=g)
    gt = [torch.tensor([[5, 7, 12, 10]]), torch.tensor([[30, 30, 40, 40], [0, 0, 3, 3]])] * 4
    U = boxes_to_mask(gt, 40)
    for tol in (0, 3, 15):
        exp = []
        for i in range(8):
            py, px = divmod(s[i].argmax().item(), 40)
            ys, xs = torch.nonzero(U[i], as_tuple=True)
            d2 = (ys - py) ** 2 + (xs - px) ** 2
            exp.append(float(U[i, py, px] or (tol > 0 and (d2 < tol * tol).any())))
        close(pointing_game(s, gt, tolerance=tol), exp)

def test_pointing_game_ties_blank_and_empty():
    U = [torch.tensor([[0, 0, 4, 4]])]  # contains pixel 0
    for v in (0., .3, -2.):
        assert pointing_game(torch.full((1, 8, 8), v), U).tolist() == [0.]  # blank: a miss, never a hit at pixel 0
        assert pointing_game(torch.full((1, 8, 8), v), U, ties='first').tolist() == [0.]
    fake = torch.ones(1, 8, 8); fake[0, 0, 0] = 0; fb = [torch.tensor([[2, 2, 6, 6]])]
    assert pointing_game(fake, fb).tolist() == [1.]  # any of the tied maxima (thesis' Fake-CAM 99.8%)
    assert pointing_game(fake, fb, ties='first').tolist() == [0.]  # first maximum (0, 1) is outside
    two = torch.zeros(1, 8, 8); two[0, 0, 7] = 1; two[0, 5, 5] = 1
    assert pointing_game(two, fb).tolist() == [1.] and pointing_game(two, fb, ties='first').tolist() == [0.]
    # empty ground truth: excluded, whatever the map
    r = pointing_game(torch.cat([blob(), torch.zeros(1, 8, 8)]), [torch.zeros(0, 4), torch.zeros(0, 4)])
    assert r.isnan().all()
    assert pointing_game(blob(), torch.zeros(1, 8, 8, dtype=torch.bool)).isnan().all()
    # signed maps are fine
    assert pointing_game(blob() - 1, BOX).tolist() == [1.]

# ---------------------------------------------------------------- saliency metric
def _red_mean_model():
    net = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 2))
    with torch.no_grad(): net[2].weight.copy_(torch.tensor([[2., 0, 0], [0, 0, 0]])); net[2].bias.zero_()
    return net

def test_saliency_metric_exact():
    net = _red_mean_model().train()
    x = torch.zeros(3, 3, 8, 8); x[:, 0, 1:3, 1:3] = 1
    small = torch.zeros(1, 8, 8); small[0, 0, 0] = 1  # a 1-pixel box: area 1/64 < 0.05 is clamped
    s = torch.cat([blob(), torch.zeros(1, 8, 8), small])
    sm = saliency_metric(s, target=[0, 0, 1], model=net, x=x, batch_size=2)
    exp = [math.log(4 / 64) + math.log1p(math.exp(-2)),       # crop all red: logits (2, 0), class 0
           math.log1p(math.exp(-2 * 4 / 64)),                  # blank map: whole image, area term 0
           math.log(.05) + math.log1p(math.exp(0))]            # black crop: logits (0, 0), class 1: p = 1/2
    close(sm, exp)
    assert net.training and all(p.requires_grad for p in net.parameters())
    close(saliency_metric(s, probs=[1 / (1 + math.exp(-2)), 1 / (1 + math.exp(-.125)), .5]), exp)

def test_saliency_metric_probs_match_model_on_a_real_cnn():
    from xai_repro.models import load_model
    torch.manual_seed(0)
    m = load_model('resnet18_small', num_classes=10, width=8).eval()
    x = torch.rand(4, 3, 32, 32); s = torch.rand(4, 32, 32) ** 4; t = torch.tensor([1, 2, 3, 4])
    sm = saliency_metric(s, t, model=m, x=x, batch_size=3)
    pb = predicted_box(s)
    with torch.no_grad(): p = m(crop_boxes(x, pb)).softmax(1)[torch.arange(4), t]
    close(sm, saliency_metric(s, probs=p), eps=1e-5)
    area = ((pb[:, 2] - pb[:, 0]) * (pb[:, 3] - pb[:, 1])).double() / 1024
    close(sm, area.clamp_min(.05).log() - p.double().log(), eps=1e-5)

def test_saliency_metric_bad_input():
    net, x = _red_mean_model(), torch.zeros(1, 3, 8, 8)
    with pytest.raises(ValueError, match='needs `probs`'): saliency_metric(blob(), 0)
    with pytest.raises(ValueError, match='ground-truth classes'): saliency_metric(blob(), model=net, x=x)
    with pytest.raises(ValueError, match='out of range'): saliency_metric(blob(), 5, model=net, x=x)
    with pytest.raises(ValueError, match='do not match'): saliency_metric(blob(), 0, model=net, x=torch.zeros(1, 3, 8, 9))
    with pytest.raises(ValueError, match='non-finite'): saliency_metric(blob(), 0, model=net, x=torch.full((1, 3, 8, 8), NAN))
    with pytest.raises(ValueError, match='probabilities for 1 maps'): saliency_metric(blob(), probs=[.1, .2])
    with pytest.raises(ValueError, match=r'in \[0, 1\]'): saliency_metric(blob(), probs=[1.5])
    net.train()
    with pytest.raises(ValueError): saliency_metric(blob(), 5, model=net, x=x)
    assert net.training  # given back as it came, also on error

# ---------------------------------------------------------------- the thesis' table
def test_localization_scores_table():
    fake = torch.ones(1, 8, 8); fake[0, 0, 0] = 0
    df = localization_scores(torch.cat([blob(), fake]), [BOX[0], torch.tensor([[2, 2, 6, 6]])], target=0, pred=[0, 1], probs=[.5, .5])
    assert list(df.columns) == ['OM', 'LE', 'F1', 'SP', 'EP', 'SM'] and len(df) == 2
    close(df.values, [[.75, .75, 16 / 41, 1., 8 / 9, math.log(4 / 64) + math.log(2)],
                      [1., .75, 32 / 79, 1., 16 / 63, math.log(2)]])
    assert list(localization_scores(blob(), BOX).columns) == ['LE', 'F1', 'SP', 'EP']

# ---------------------------------------------------------------- segmentation at α
def test_segmentation_scores_exact():
    r = segmentation_scores(blob(), BOX, .4)  # kept: blob + 0.5 pixel -> TP 4, FP 1, FN 12, TN 47
    close([r[k].item() for k in SEG_METRICS], [4 / 17, 4 / 5, 4 / 16, 51 / 64, 8 / 21])
    close(r['avg'], [np.mean([4 / 17, 4 / 5, 4 / 16, 51 / 64, 8 / 21])])
    r = segmentation_scores(blob(), BOX)  # α = 0.5: the 0.5 pixel is not strictly above
    close([r[k].item() for k in SEG_METRICS], [4 / 16, 1., 4 / 16, 52 / 64, 8 / 20])
    r2 = segmentation_scores(blob() * 10, boxes_to_mask(BOX, 8))  # relative to the max; masks work too
    for k in r: close(r2[k], r[k])

def test_segmentation_policies_and_batch():
    s = torch.cat([blob(), torch.zeros(1, 8, 8), blob()])
    r = segmentation_scores(s, [BOX[0], BOX[0], torch.zeros(0, 4)])
    assert all(v.shape == (3,) for v in r.values()) and set(r) == {*SEG_METRICS, 'avg'}
    assert r['precision'][1].isnan() and r['iou'][1] == 0 and r['recall'][1] == 0 and r['dice'][1] == 0
    close(r['accuracy'][1], 48 / 64); close(r['avg'][1], (0 + 0 + 48 / 64 + 0) / 4)  # mean of the available four
    assert all(v[2].isnan() for v in r.values())
    with pytest.raises(ValueError, match='alpha'): segmentation_scores(s, BOX * 3, -.1)
    with pytest.raises(ValueError, match='negative'): segmentation_scores(-s, BOX * 3)

def test_alpha_sweep():
    s = torch.cat([blob(), torch.zeros(1, 8, 8)])
    t = alpha_sweep(s, BOX * 2)
    assert isinstance(t, pd.DataFrame) and t.index.tolist() == [.1, .2, .3, .4, .5, .6, .7, .8, .9]
    assert list(t.columns) == [*SEG_METRICS, 'avg']
    close(t.loc[.5, 'precision'], 1.)  # the blank map's NaN skipped
    close(t.loc[.5, 'accuracy'], (52 / 64 + 48 / 64) / 2)
    close(t.avg.values, t[list(SEG_METRICS)].mean(axis=1).values)  # the papers' Avg.: mean of the column means
    long = alpha_sweep(s, BOX * 2, alphas=(.4, .5), per_image=True)
    assert len(long) == 4 and list(long.columns[:2]) == ['alpha', 'image']
    # batches concatenated then summarized give the whole-set table
    parts = [alpha_sweep(s[i:i + 1], BOX, alphas=(.4, .5), per_image=True) for i in range(2)]
    pd.testing.assert_frame_equal(summarize_sweep(pd.concat(parts)), alpha_sweep(s, BOX * 2, alphas=(.4, .5)))

# ---------------------------------------------------------------- pixel accuracy and mAP
def test_average_precision_exact_with_ties():
    S = torch.tensor([[[.9, .8], [.8, .1]]]); M = torch.tensor([[[True, False], [True, False]]])
    close(average_precision(S, M, pooled=False), [5 / 6])
    close(_average_precision(torch.tensor([[3., 2, 1, 0]]).double(), torch.tensor([[False, True, False, True]])), [(1 / 2 + 2 / 4) / 2])
    assert _average_precision(torch.rand(1, 5), torch.zeros(1, 5, dtype=torch.bool)).isnan().all()

def test_average_precision_matches_sklearn():
    from sklearn.metrics import average_precision_score
    from xai_repro.core import minmax
    g = torch.Generator().manual_seed(4)
    s = (torch.randn(5, 12, 12, generator=g) * 4).round() / 4  # signed, with many ties
    m = torch.rand(5, 12, 12, generator=g) > .7
    fg = minmax(s.double()).flatten(1).numpy(); y = m.flatten(1).numpy()
    close(average_precision(s, m, pooled=False), [average_precision_score(y[i], fg[i]) for i in range(5)], eps=1e-6)
    close(average_precision(s, m), [average_precision_score(np.r_[~y[i], y[i]], np.r_[1 - fg[i], fg[i]]) for i in range(5)], eps=1e-6)

def test_agf_binary_map_ap_is_a_function_of_pixel_accuracy():
    g = torch.Generator().manual_seed(5)
    s = torch.randn(6, 16, 16, generator=g); m = torch.rand(6, 16, 16, generator=g) > .5
    for thr in ('mean', 0.):
        a = pixel_accuracy(s, m, threshold=thr).double()
        close(average_precision(s, m, binary=True, threshold=thr), a ** 2 + (1 - a) / 2)

def test_pixel_accuracy_exact_and_signed():
    close(pixel_accuracy(blob(), BOX), [51 / 64])  # mean threshold keeps blob + the 0.5 pixel
    close(pixel_accuracy(blob(), BOX, threshold=.5), [52 / 64])
    signed = torch.where(boxes_to_mask(BOX, 8), .3, -.2)
    close(pixel_accuracy(signed, BOX, threshold=0), [1.])
    close(average_precision(signed, BOX), [1.]); close(average_precision(signed, BOX, pooled=False), [1.])
    r = pixel_accuracy(torch.cat([blob(), blob()]), torch.stack([boxes_to_mask(BOX, 8)[0], torch.zeros(8, 8, dtype=torch.bool)]))
    assert r.shape == (2,) and r[1].isnan()
    assert average_precision(blob(), torch.zeros(1, 8, 8, dtype=torch.bool)).isnan().all()

def test_batch_independence():
    g = torch.Generator().manual_seed(6)
    s = torch.rand(4, 16, 16, generator=g); gt = [torch.tensor([[i, i, 10 + i, 12]]) for i in range(4)]
    fs = [localization_error, pixel_precision, pixel_recall, pixel_f1, pointing_game, pixel_accuracy, average_precision,
          lambda s, b: segmentation_scores(s, b)['dice'], lambda s, b: box_acc_curve(s, b, etas=(.1, .6))]
    for f in fs:
        whole = f(s, gt)
        close(whole, torch.cat([f(s[i:i + 1], gt[i:i + 1]) for i in range(4)]))
