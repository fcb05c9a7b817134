#!/usr/bin/env bash
# A Slurm job array: 16 tasks; Slurm gives each SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_MIN and
# SLURM_ARRAY_TASK_COUNT, from which `--shard auto` takes both this task's index and the count.
#SBATCH --job-name=reelframe
#SBATCH --array=0-15
#SBATCH --cpus-per-task=4
#SBATCH --mem=4G
#SBATCH --time=24:00:00
#SBATCH --output=reelframe-%A_%a.log
set -euo pipefail
exec reelframe extract \
  --input s3://my-bucket/lists/sample.jsonl \
  --out s3://my-bucket/frames \
  --shard auto \
  --jobs "${SLURM_CPUS_PER_TASK:-4}"
