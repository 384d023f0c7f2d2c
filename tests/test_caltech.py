"""Section 5.2.2: the real Caltech-256 loader on a folder of its layout, the backbones,
the messages when data or weights are missing, the offline stand-in, the feature cache,
and the experiment at tiny sizes."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data as photographs
from torchvision.models import ResNet152_Weights

from prelu_robust import ParameterError, features, paths
from prelu_robust.backbones import BACKBONES, WeightsMissingError, load_backbone
from prelu_robust.data import images as image_sets
from prelu_robust.data.mnist import DatasetMissingError
from prelu_robust.experiments import caltech


def caltech_folder(root, categories=12, per_category=2):
    """A folder of Caltech-256's layout: ``caltech256/256_ObjectCategories/NNN.name/NNN_IIII.jpg``,
    generated JPEGs of odd sizes, every third one grey."""
    rng = np.random.default_rng(0)
    for c in range(categories):
        folder = root / "caltech256" / "256_ObjectCategories" / f"{c + 1:03d}.thing{c}"
        folder.mkdir(parents=True)
        for i in range(per_category):
            size = (int(rng.integers(200, 400)), int(rng.integers(200, 400)))
            mode, shape = ("L", size[::-1]) if (c + i) % 3 == 0 else ("RGB", (*size[::-1], 3))
            Image.fromarray(rng.integers(0, 255, shape, dtype=np.uint8), mode).save(folder / f"{c + 1:03d}_{i + 1:04d}.jpg")
    return root


def test_the_real_loader_maps_caltech_categories_to_superclasses_and_preprocesses_like_the_paper(tmp_path):
    images = image_sets.caltech256(caltech_folder(tmp_path))
    assert len(images.fine) == 24 and images.fine.tolist() == [c for c in range(12) for _ in range(2)]
    assert images.superclass.tolist()[-4:] == [10 % 10, 10 % 10, 11 % 10, 11 % 10]
    modes = {images.images[i][0].mode for i in range(len(images.fine))}
    assert modes == {"L", "RGB"}
    batch = [image_sets.preprocessed(images)[i][0] for i in range(len(images.fine))]
    assert all(x.shape == (3, 224, 224) for x in batch)  # grey images repeated to three channels
    grey = batch[0]
    assert torch.equal(grey[0] * 0.229 + 0.485, grey[1] * 0.224 + 0.456) or \
        torch.allclose(grey[0] * 0.229 + 0.485, grey[1] * 0.224 + 0.456, atol=1e-6)
    train, test = image_sets.train_test_split(len(images.fine))
    assert (len(train), len(test)) == (19, 5) or (len(train), len(test)) == (20, 4)
    assert sorted(torch.cat([train, test]).tolist()) == list(range(24))


def test_missing_caltech_says_where_to_put_it_and_how_to_run_the_stand_in(tmp_path):
    with pytest.raises(DatasetMissingError) as err:
        caltech.load_features(caltech.make_config("paper"), data_root=str(tmp_path))
    assert str(tmp_path / "caltech256" / "256_ObjectCategories") in str(err.value)
    assert "download=True" in str(err.value) and "-p dataset digits_garments" in str(err.value)
    assert not (tmp_path / "features").exists()  # nothing extracted, nothing loaded


def test_the_driver_refuses_a_missing_caltech_before_a_kernel_starts(tmp_path):
    out = tmp_path / "page.ipynb"
    run = subprocess.run([sys.executable, "-m", "prelu_robust.run_notebook", "one", "notebooks/caltech256.py", str(out),
                          "-p", "data_root", str(tmp_path)], cwd=paths.CHECKOUT, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 2 and run.stderr.startswith("error: Caltech-256 is not under"), run.stderr[-2000:]
    assert "Traceback" not in run.stderr and "Executing" not in run.stderr and not out.exists()


def test_resnet152_without_its_weights_has_the_paper_s_2048_features():
    net = load_backbone("resnet152", pretrained=False)
    with torch.inference_mode():
        out = net(torch.randn(2, 3, 224, 224))
    assert out.shape == (2, BACKBONES["resnet152"].dim) == (2, 2048) and not net.training


def test_missing_resnet152_weights_name_the_file_and_the_stand_in(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # an empty weights cache, and no network here
    import torchvision.models._api as weights_api

    def no_network(*args, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr(weights_api, "load_state_dict_from_url", no_network)
    with pytest.raises(WeightsMissingError) as err:
        load_backbone("resnet152")
    assert ResNet152_Weights.IMAGENET1K_V2.url in str(err.value) and "-p backbone efficientnet_lite2" in str(err.value)


@pytest.fixture(scope="module")
def lite2():
    return load_backbone("efficientnet_lite2")


@pytest.mark.parametrize("name, expected", [("chelsea", {"tabby", "tiger cat", "Egyptian cat"}),
                                            ("coffee", {"espresso"})])
def test_the_stand_in_backbone_has_its_genuine_imagenet_weights(lite2, name, expected):
    image = Image.fromarray(getattr(photographs, name)())
    x = image_sets.preprocessing()(image)[None]
    with torch.inference_mode():
        logits = lite2.net._fc(lite2(x))  # its own classifier on the pooled features we extract
    assert ResNet152_Weights.IMAGENET1K_V2.meta["categories"][int(logits.argmax())] in expected


def test_the_stand_in_holds_a_digit_and_a_garment_per_superclass():
    standin = image_sets.digits_garments(60, seed=1)
    fine = standin.fine
    assert len(fine) == 60 and (fine < 10).sum() == 30 and ((fine >= 10) & (fine < 20)).sum() == 30
    assert torch.equal(standin.superclass, fine % 10)
    image, label = standin.images[0]
    assert image.size == (28, 28) and image.mode == "L" and label == int(fine[0])
    assert image_sets.preprocessed(standin)[0][0].shape == (3, 224, 224)
    with pytest.raises(ParameterError):
        image_sets.digits_garments(5)


def test_the_stand_in_s_size_is_part_of_its_store_key():
    standin = caltech.make_config("paper", dataset="digits_garments", backbone="efficientnet_lite2")
    assert standin.n_images == image_sets.STANDIN_IMAGES
    assert caltech.CaltechRun(standin, 1.0, 0).settings()["n_images"] == image_sets.STANDIN_IMAGES
    assert caltech.FeatureSummary(standin).settings()["n_images"] == image_sets.STANDIN_IMAGES
    assert caltech.make_config("paper").n_images is None  # all of Caltech-256


def test_a_stand_in_larger_than_its_sources_is_refused_before_anything_runs():
    with pytest.raises(ParameterError, match="at most 120000"):
        caltech.make_config("paper", dataset="digits_garments", backbone="efficientnet_lite2", n_images=200000)
    with pytest.raises(ParameterError, match="n_images"):
        image_sets.digits_garments(image_sets.STANDIN_MAX_IMAGES + 2)


def test_features_are_cached_a_second_call_extracts_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(features, "CHUNK", 8)
    standin = image_sets.digits_garments(20, seed=2)
    first = features.extract(standin, "efficientnet_lite2", tmp_path, show_progress=False)
    assert first.x.shape == (20, 1280) and first.extracted == 3 and first.cpu_s > 0
    (first.folder / "chunk_00001.npy").unlink()  # as if interrupted: only that chunk is redone
    again = features.extract(standin, "efficientnet_lite2", tmp_path, show_progress=False)
    assert again.extracted == 1 and torch.equal(again.x, first.x)
    third = features.extract(standin, "efficientnet_lite2", tmp_path, show_progress=False)
    assert third.extracted == 0 and torch.equal(third.x, first.x)
    assert features.cache_folder(standin, "resnet152", tmp_path) != first.folder


def test_the_feature_box_never_binds_and_keeps_the_net(tmp_path):
    net = torch.nn.Linear(4, 3)
    x = torch.randn(10, 4)
    box = caltech.FeatureBox.around(net, x, margin=5.0)
    u = box.into(x)
    assert float(u.min()) > 0 and float(u.max()) < 1
    assert torch.allclose(box(u), net(x), atol=1e-5)
    # the margin in box units on either side, up to float32 rounding of u in [0, 1]
    rounding = 4 * float(torch.finfo(torch.float32).eps)
    assert float(u.min()) >= 5.0 / box.scale - rounding and 1 - float(u.max()) >= 5.0 / box.scale - rounding


def test_an_experiment_at_tiny_sizes_reads_its_runs_back(tmp_path, monkeypatch):
    monkeypatch.setenv("PRELU_ROBUST_RESULTS", str(tmp_path / "results"))
    config = caltech.make_config("ci", dataset="digits_garments", backbone="efficientnet_lite2", n_images=60,
                                 width=20, epochs=2, repeats=1, powers=[1, 3], attack_points=10, attack_batch=10,
                                 correlation_points=40)
    first = caltech.run(config, "ci", data_root=str(tmp_path), show_progress=False)
    assert first.cost.computed == 2 and first.robust_accuracy.shape == (2, 1, len(config.eps_grid))
    assert first.train_accuracy.shape == (2, 1, 2) and first.correlation.shape == (40, 40)
    assert first.features_cpu_s > 0 and "digits" in first.images

    def no_images(*args, **kwargs):
        raise AssertionError("a page whose entries are stored loaded its images")

    monkeypatch.setattr(caltech, "load_images", no_images)
    again = caltech.run(config, "ci", data_root=str(tmp_path), show_progress=False)
    assert again.cost.computed == 0 and np.array_equal(again.robust_accuracy, first.robust_accuracy)
    assert np.array_equal(again.correlation, first.correlation) and again.images == first.images
    assert again.features_cpu_s == first.features_cpu_s and caltech.is_complete(config, caltech.default_store("ci"))
