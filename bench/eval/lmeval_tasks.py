#!/usr/bin/env python3
"""Writes lm-eval task YAMLs for our tasks (lm-eval's own definitions, data redirected to tasks/data),
named flref_<task>: python3 bench/eval/lmeval_tasks.py DIR task1,task2,..."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts" / "fixtures"))
from make_lmeval_reference import write_task_yamls  # noqa: E402

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
write_task_yamls(out, sys.argv[2].split(","))
