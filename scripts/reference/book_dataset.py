"""The book's PyTorch Dataset pattern for tagger windows, the baseline the benchmarks measure against."""
import time

import numpy as np
import plyvel


def windows_per_second(db_path, words, items, window=3):
    """Per item, `window` LevelDB gets with plyvel and np.append, as the book's Dataset.__getitem__ does."""
    leveldb = plyvel.DB(str(db_path))
    try:
        count = min(items, len(words) - window + 1)
        start = time.perf_counter()
        for i in range(count):
            x = np.array([], dtype="float32")
            for k in range(window):
                x = np.append(x, np.frombuffer(leveldb.get(words[i + k].encode()), dtype="float32"))
        return count / (time.perf_counter() - start)
    finally:
        leveldb.close()
