"""Several seeds as DVC experiments: run them through DVC's queue, then show their spread.

    python pipelines/seeds.py run 1 2 3     # dvc exp run --queue -n seed-N -S seed=N, dvc queue start, wait
    python pipelines/seeds.py show          # each seed's figures per model, then mean and std
    python pipelines/seeds.py compare       # every experiment of this commit, key figures, one line each

See crnngan.tools.seeds.
"""

import argparse
import logging
import sys

from crnngan.evaluation.claims import claims_across_seeds, claims_across_seeds_markdown
from crnngan.tools.seeds import compare_table, finished, git_claims, run, seed_claims, seed_table


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    run_p = sub.add_parser("run", help="queue one experiment per seed and run them")
    run_p.add_argument("seeds", nargs="+", type=int)
    sub.add_parser("show", help="each seed's figures and their spread")
    sub.add_parser("compare", help="key figures of every experiment, one line each")
    args = ap.parse_args(argv)
    if args.command == "run":
        if run(args.seeds):
            return 1
    import dvc.api

    if args.command == "compare":
        print(compare_table(dvc.api.exp_show()))  # this commit's experiments and the workspace
        return 0
    # Experiments belong to the commit they ran on: look back along the whole history.
    done = finished(dvc.api.exp_show(num=-1))
    print(seed_table(done))
    claims = seed_claims(done, git_claims)
    if claims:
        print("\n" + claims_across_seeds_markdown(claims_across_seeds(claims)))
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    sys.exit(main())
