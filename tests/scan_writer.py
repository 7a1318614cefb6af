"""Scanned copies of the gold reports: the round trip's PDF rendered to images (pypdfium2),
turned by a slight skew, saved as JPEG (its block noise), and put back into a PDF that has
no text layer, the way a scanner or a 'print to image' export makes them."""
import io

from test_parsers_roundtrip import render_pdf


def page_images(fmt, cells, units, year, dpi: int, skew: float, quality: int) -> list:
    """The report's pages as greyscale images at `dpi`, turned by `skew` degrees, each passed
    through JPEG at `quality`."""
    import pypdfium2
    from PIL import Image

    document = pypdfium2.PdfDocument(render_pdf(fmt, cells, units, year))
    images = []
    try:
        for page in document:
            image = page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
            image = image.rotate(skew, resample=Image.BICUBIC, fillcolor=255)
            buffer = io.BytesIO()
            image.save(buffer, "JPEG", quality=quality)
            images.append(Image.open(io.BytesIO(buffer.getvalue())))
    finally:
        document.close()
    return images


def scanned_pdf(fmt, cells, units, year, dpi: int = 150, skew: float = 0.5, quality: int = 70) -> bytes:
    """An image-only PDF of the report (one JPEG a page)."""
    images = page_images(fmt, cells, units, year, dpi, skew, quality)
    buffer = io.BytesIO()
    images[0].save(buffer, "PDF", save_all=True, append_images=images[1:], resolution=dpi)
    return buffer.getvalue()


def report_png(fmt, cells, units, year, dpi: int = 200, skew: float = 0.0, quality: int = 90) -> bytes:
    """The report's pages one below the other in one PNG, as a page shows a report's
    tables as a single long picture."""
    from PIL import Image

    images = page_images(fmt, cells, units, year, dpi, skew, quality)
    long = Image.new("L", (max(image.width for image in images), sum(image.height for image in images)), 255)
    top = 0
    for image in images:
        long.paste(image, (0, top))
        top += image.height
    buffer = io.BytesIO()
    long.save(buffer, "PNG")
    return buffer.getvalue()
