"""``python -m cxr ...`` is the ``cxr`` command; torchrun starts one per GPU with
``torchrun --nproc_per_node 8 -m cxr pretrain --config ...``."""
from cxr.cli.main import main

if __name__ == "__main__":
    main()
