"""Image preprocessing (pad, not crop; 16-bit; channels) and path resolution with clear errors."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from cxr.core.errors import InputError
from cxr.datasets.images import to_square
from cxr.evaluate.images import ImageDataset, load_square, resolve_images
from cxr.pretrain.export import Preprocessing


def test_pad_to_square_keeps_aspect_and_centres():
    tall = np.full((40, 20), 200, np.uint8)
    sq = to_square(Image.fromarray(tall), 20, "pad")   # what evaluation images go through
    assert sq.shape == (20, 20)
    assert (sq[:, :5] == 0).all() and (sq[:, 15:] == 0).all()        # padded left/right, not cropped
    assert (sq[:, 5:15] == 200).all()


def test_sixteen_bit_png_is_scaled_to_the_full_uint8_range(tmp_path):
    arr = np.array([[0, 1000], [2000, 4000]], np.uint16)
    Image.fromarray(arr).save(tmp_path / "x.png")
    out = load_square(tmp_path / "x.png", 2)
    assert out.dtype == np.uint8 and out.min() == 0 and out.max() == 255


def test_dataset_returns_normalised_three_channel_tensors(tmp_path):
    Image.fromarray(np.full((10, 10, 3), 255, np.uint8)).save(tmp_path / "rgb.png")
    ds = ImageDataset([tmp_path / "rgb.png"], Preprocessing(8, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25)))
    x = ds[0]
    assert tuple(x.shape) == (3, 8, 8)
    assert np.allclose(x.numpy(), 2.0)                                 # (1 - 0.5) / 0.25


def test_resolution_prefers_png_copies_of_dicoms_and_strips_leading_folders(tmp_path):
    (tmp_path / "imgs" / "deep" / "er").mkdir(parents=True)
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "imgs" / "a.png")
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "imgs" / "deep" / "er" / "b.png")
    found = resolve_images(["stage_2_train_images/a.dcm", "b.dcm"], [tmp_path / "imgs"])
    assert found == [tmp_path / "imgs" / "a.png", tmp_path / "imgs" / "deep" / "er" / "b.png"]


def test_missing_images_are_listed(tmp_path):
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "ok.png")
    with pytest.raises(InputError, match=r"2 of 3 images of split not found .* first missing: \['gone1.png', 'gone2.png'\]"):
        resolve_images(["ok.png", "gone1.png", "gone2.png"], [tmp_path])


def test_dicom_without_pydicom_gives_a_way_out(tmp_path):
    pytest.importorskip("PIL")
    try:
        import pydicom  # noqa: F401
        pytest.skip("pydicom installed")
    except ImportError:
        pass
    (tmp_path / "x.dcm").write_bytes(b"DICM")
    with pytest.raises(InputError, match="convert the images to PNG"):
        load_square(tmp_path / "x.dcm", 8)
