"""Longtail: train and evaluate image classifiers on balanced or long-tailed data.

Examples:
    python main.py --config configs/resnet32_focal.yaml
    python main.py --config configs/resnet32_ce.yaml --set data.imbalance.factor=50 --set seed=1
    python main.py --config configs/resnet32_focal.yaml --dry-run
    python main.py --resume runs/resnet32_focal
    python main.py --config configs/resnet32_focal.yaml --eval checkpoints/resnet-32.pth
    python main.py --config configs/resnet32_focal.yaml --eval runs/resnet32_focal/best.pt
    torchrun --nproc_per_node=2 main.py --config configs/resnet32_focal.yaml
"""
import argparse
import shlex
import sys

from engine.errors import INPUT_ERRORS, Interrupted, NonFiniteLoss, report


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Train an image classifier on balanced or long-tailed data from a YAML "
                    "config, or evaluate a checkpoint.",
        epilog="Every config key is described in docs/configuration.md (or: --keys). Runs are "
               "written to "
               "runs/<run.name>/ (config.yaml, TensorBoard events, best.pt, last.pt, "
               "metrics.json); the best weights are also exported as a plain state_dict to "
               "<run.checkpoint_dir>/<model>.pth with a .json saying where they came from. "
               "Ctrl-C or SIGTERM saves last.pt and prints the command that continues.")
    parser.add_argument("--config", metavar="PATH",
                        help="YAML config: our schema or the course's format")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE",
                        help="override one config key, e.g. --set train.epochs=10 "
                             "(repeatable)")
    parser.add_argument("--keys", action="store_true",
                        help="print every config key with its default, allowed values and "
                             "meaning, then exit")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--dry-run", action="store_true",
                        help="print the resolved config, the training set's class counts and "
                             "the model's size, then exit without training")
    action.add_argument("--eval", metavar="CHECKPOINT",
                        help="evaluate a saved checkpoint on the test set instead of training: "
                             "a run's best.pt / last.pt, or an exported <model>.pth (a plain "
                             "state_dict, whose model --config gives)")
    action.add_argument("--resume", metavar="RUN_DIR",
                        help="continue the run saved in RUN_DIR (its last.pt and config.yaml)")
    parser.add_argument("--no-export", dest="export", action="store_false",
                        help="leave run.checkpoint_dir alone: do not export the best weights "
                             "there (sweeps and studies pass this; their run folders hold "
                             "best.pt)")
    args = parser.parse_args(argv)
    if args.keys:
        return args
    if args.config is None and args.resume is None:
        parser.error("--config is required (or --resume RUN_DIR)")
    if args.config is None and args.overrides:
        parser.error("--set needs --config; a resumed run keeps its own config")
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.keys:
        from engine.config import docs
        print(docs.render(), end="")
        return 0
    try:
        from engine.config import load_config

        cfg = load_config(args.config, args.overrides) if args.config else None
        import app  # torch and the data stack load only once the config is valid
        if args.dry_run:
            app.dry_run(cfg)
        elif args.eval:
            app.evaluate_checkpoint(cfg, args.eval)
        else:
            app.train(cfg, resume_dir=args.resume, export_best=args.export)
    except INPUT_ERRORS as error:
        return report(error)
    except Interrupted as stop:
        print(f"\ninterrupted: progress saved to {stop.run_dir}/last.pt; continue with\n"
              f"  {resume_command(stop.run_dir)}", file=sys.stderr)
        return Interrupted.exit_code
    except KeyboardInterrupt:
        print("\ninterrupted outside the training loop; nothing new was saved", file=sys.stderr)
        return Interrupted.exit_code
    except NonFiniteLoss as error:
        print(f"error: {error}", file=sys.stderr)
        return NonFiniteLoss.exit_code
    return 0


def resume_command(run_dir):
    """The shell command that continues the run in ``run_dir``, safe to paste."""
    return f"python main.py --resume {shlex.quote(str(run_dir))}"


if __name__ == "__main__":
    sys.exit(main())
