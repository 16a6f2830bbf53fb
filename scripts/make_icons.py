"""Draw the app's icons into static/icons/: 客 in white on the theme's teal. Run once after a change
of design (the files are committed): .venv/bin/python scripts/make_icons.py"""
import os

from PIL import Image
from PIL import ImageDraw
from PIL import ImageFont

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "static", "icons")
FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"  # Debian's fonts-noto-cjk
TEAL = (15, 118, 110)


def draw(size, rounded=True):
    """The icon at `size` px; full-bleed for the home screen (the phone rounds it), rounded for tabs."""
    scale = 4
    big = size * scale
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    pen.rounded_rectangle((0, 0, big - 1, big - 1), radius=big // 5 if rounded else 0, fill=TEAL)
    font = ImageFont.truetype(FONT, int(big * 0.62), index=2)  # the SC face
    pen.text((big / 2, big / 2), "客", font=font, fill="white", anchor="mm")
    return image.resize((size, size), Image.LANCZOS)


def main():
    os.makedirs(OUT, exist_ok=True)
    for size in (180, 192, 512):
        draw(size, rounded=False).convert("RGB").save(os.path.join(OUT, f"icon-{size}.png"), optimize=True)
    draw(64).save(os.path.join(OUT, "favicon.ico"), sizes=[(16, 16), (32, 32), (48, 48)])


if __name__ == "__main__":
    main()
