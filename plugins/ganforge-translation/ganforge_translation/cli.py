"""The ``ganforge translate`` subcommand. Imports no torch until it runs, so ``ganforge
plugins``, ``validate`` and ``schema`` stay fast."""

from __future__ import annotations

import argparse
from pathlib import Path

from ganforge.sdk import Commands


def cmd_translate(args: argparse.Namespace) -> int:
    from ganforge_translation.translate import translate_files

    written = translate_files(args.checkpoint, args.inputs, args.out, args.direction, args.device, args.batch_size,
                              args.instances)
    print(f"wrote {len(written)} translated images to {args.out} (side-by-side sheets in {args.out / 'sheets'}, "
          f"an overview in {args.out / 'comparison.png'})")
    return 0


def add_translate_command(subparsers: Commands) -> None:
    p = subparsers.add_parser("translate", help="translate images with a trained translation model (pix2pix, CycleGAN, pix2pixHD)")
    p.add_argument("checkpoint", type=Path, help="run folder or checkpoints/step_<N> folder")
    p.add_argument("inputs", type=Path, nargs="+", metavar="INPUT", help="image files or folders of images")
    p.add_argument("--out", type=Path, required=True, help="folder for the translated images and comparison sheets")
    p.add_argument("--direction", choices=["AtoB", "BtoA"],
                   help="which half of A|B inputs is the source, and which way to translate (default: the run's)")
    p.add_argument("--device", default="cpu", help="device to translate on")
    p.add_argument("--batch-size", type=int, default=8, help="images per batch")
    p.add_argument("--instances", type=Path, nargs="+", metavar="INSTANCES",
                   help="label-map models (pix2pixHD): instance maps, files or folders, in the label maps' sorted order")
    p.set_defaults(handler=cmd_translate)
