#!/usr/bin/env bash
# The first real-data training run of TMANet (issue 11), CPU-sized: TMANet-R18
# and the same network with a per-frame FCN head instead of temporal memory,
# same data, schedule and seed, both validated on CamVid val with the
# streaming loop. Prints both mIoU values and writes WORK_DIR/report.txt.
#
#   tools/misc/tmanet_camvid_cpu_run.sh ../shared/data/camvid work_dirs/camvid_cpu [ITERS]
set -euo pipefail
DATA=${1:?CamVid root in the SegNet layout (train/, trainannot/, val/, ...)}
WORK=${2:?work dir}
ITERS=${3:-300}
PY=${PYTHON:-python}
cd "$(dirname "$0")/../.."
mkdir -p "$WORK"
: > "$WORK/report.txt"
for name in tmanet_r18-d8_1xb2-clip5-300it_camvid-segnet-120x160 \
            fcn_r18-d8_1xb2-clip1-300it_camvid-segnet-120x160; do
  start=$(date +%s)
  $PY tools/train.py "configs/tmanet/$name.py" --work-dir "$WORK/$name" \
    --cfg-options train_dataloader.dataset.data_root="$DATA" \
      val_dataloader.dataset.data_root="$DATA" \
      test_dataloader.dataset.data_root="$DATA" \
      train_cfg.max_iters="$ITERS" train_cfg.val_interval="$ITERS" \
      param_scheduler.0.end="$ITERS" \
      default_hooks.checkpoint.interval="$ITERS"
  secs=$(( $(date +%s) - start ))
  miou=$($PY - "$WORK/$name" <<'PYEOF'
import glob, json, os, sys
recs = [json.loads(l) for f in sorted(glob.glob(os.path.join(sys.argv[1], '*', 'vis_data', 'scalars.json'))) for l in open(f) if l.strip()]
print([r for r in recs if 'mIoU' in r][-1]['mIoU'])
PYEOF
)
  echo "$name: val mIoU $miou ($ITERS iterations, ${secs}s)" | tee -a "$WORK/report.txt"
done
