"""What training prints: epoch lines in a log file, no repeated Lightning tips."""

import io
import logging

from crnngan.training.progress import EpochLine, epoch_line, interactive, progress_callbacks, quiet_lightning


def test_epoch_line_reads_as_one_row():
    line = epoch_line(
        2, 50, "pretrain", {"pretrain_loss": 0.51234, "val_pretrain_loss": 0.498, "epoch": 2.0}, 4.2, 310.4, "ETA 3m12s"
    )
    assert (
        line == "epoch 3/50 pretrain | pretrain_loss 0.512 val_pretrain_loss 0.498 | 310 seq/s | 4s/epoch | ETA 3m12s"
    )
    assert epoch_line(0, 1, "train", {}, 0.4, None, "ETA 0s") == "epoch 1/1 train | 0s/epoch | ETA 0s"


def test_a_file_gets_epoch_lines_and_a_terminal_the_bar():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    assert not interactive(io.StringIO()) and interactive(Terminal())
    bar, callbacks = progress_callbacks(3, io.StringIO())
    assert not bar and isinstance(callbacks[0], EpochLine) and callbacks[0].pretrain_epochs == 3
    assert progress_callbacks(3, Terminal()) == (True, [])


def test_lightning_tips_are_dropped_and_other_info_kept(caplog):
    quiet_lightning()
    quiet_lightning()  # idempotent: one filter
    logger = logging.getLogger("pytorch_lightning.utilities.rank_zero")
    assert len(logger.filters) == 1
    with caplog.at_level(logging.INFO, logger=logger.name):
        logger.info("💡 Tip: For seamless cloud logging ...")
        logger.info("`Trainer(limit_train_batches=1.0)` was configured so 100% of the batches per epoch will be used..")
        logger.info("GPU available: False, used: False")
    assert [r.getMessage() for r in caplog.records] == ["GPU available: False, used: False"]
