#!/usr/bin/env bash
# Stops the test cluster scripts/slurm-up.sh started.
set -u
scancel --user="$(id -un)" 2>/dev/null || true
pkill -x slurmd 2>/dev/null || true
pkill -x slurmctld 2>/dev/null || true
pkill -x munged 2>/dev/null || true
echo "slurm: stopped"
