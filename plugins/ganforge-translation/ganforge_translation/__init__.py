"""Image-to-image translation for ganforge: pix2pix, CycleGAN and pix2pixHD."""
