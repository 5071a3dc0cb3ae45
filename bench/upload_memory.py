"""Peak memory of one inspector's shelf-photo upload (a 49-megapixel JPEG): decode the QR codes, store the photo.

Run: python bench/upload_memory.py. The photo is made in this process and written to a file; each measurement
runs in a fresh child process so its peak resident memory (ru_maxrss) belongs to that upload alone.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

SIZE = (8064, 6048)  # 48.8 MP, a 48-megapixel phone camera's full-resolution photo
CHILD = r"""
import io, resource, sys, tempfile
from pathlib import Path
data = Path(sys.argv[1]).read_bytes()
from stamp_service.inspection import decode
from stamp_service import media
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
folder = Path(tempfile.mkdtemp())
if hasattr(decode, "read_photo"):  # one decode for both jobs
    texts, name = decode.read_photo(data, folder, max_pixels=50_000_000)
else:
    texts = decode.decode_image(data, max_pixels=50_000_000)
    name = media.store_image(io.BytesIO(data), folder, max_pixels=50_000_000)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(base // 1024, peak // 1024, (peak - base) // 1024)
"""


MAKE = r"""
import sys
from PIL import Image, ImageDraw
size = (int(sys.argv[2]), int(sys.argv[3]))
img = Image.new("RGB", size, (180, 170, 150))
draw = ImageDraw.Draw(img)
for x in range(0, size[0], 97):  # some texture, so the JPEG is about the size a phone makes
    draw.line([(x, 0), (size[0] - x, size[1])], fill=(x % 255, 90, 60), width=3)
img.save(sys.argv[1], "JPEG", quality=90)
"""


def main() -> None:
    """Make the photo, measure one upload in a child process, print the figures in MiB."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "shelf.jpg"
        # Made in its own process: Linux carries a parent's peak memory (ru_maxrss) into a forked child.
        subprocess.run([sys.executable, "-c", MAKE, str(path), *map(str, SIZE)], check=True)
        out = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, check=True)
        base, peak, grew = out.stdout.split()
        print(f"photo {SIZE[0]}x{SIZE[1]} ({path.stat().st_size // 1024} KiB): "
              f"after imports {base} MiB, peak {peak} MiB, the upload added {grew} MiB")


if __name__ == "__main__":
    main()
