"""`botcopier generate MODEL.json [MODEL2.json …] --out DIR`: a strategy EA for MT4."""

from __future__ import annotations

import argparse
from pathlib import Path

from botcopier.config import Settings


def add_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "generate",
        help="write a strategy EA (.mq4 and includes) for one model or an ensemble",
        description="Renders the strategy EA for the models (several: an ensemble averaging "
        "their probabilities), checks it with the MQL4 lint and frame parity, and writes "
        "DIR/MQL4/Experts, Include/BotCopier and Files (the models and their self-test "
        "cases). Copy DIR/MQL4 into the terminal's data folder.",
    )
    parser.add_argument("models", nargs="+", type=Path, metavar="MODEL.json")
    parser.add_argument("--out", type=Path, required=True, help="folder to write MQL4/ into")
    parser.add_argument(
        "--magic", type=int, help="the EA's magic number (default: bot's + 1,000,000)"
    )
    parser.set_defaults(handler=_run)


def _run(settings: Settings, args: argparse.Namespace) -> int:
    from botcopier.codegen.generate import generate
    from botcopier.trainers.model_document import load_model

    models = [load_model(path) for path in args.models]
    result = generate(models, args.out, magic=args.magic)
    print(f"wrote {result.expert} (MQL4 lint and frame parity passed)")
    for path in [*result.includes, *result.files]:
        print(f"wrote {path}")
    return 0
