"""Where a drill runs: the local two-region environment, or the two deployed stacks.

`base` holds what both share (the Target contract, the regions' data reader, the checksum);
`aws` needs only boto3 and the stacks' outputs; `local` alone runs devstack, and only when called.
"""

from __future__ import annotations

from drill.targets.aws import Access, AwsTarget, OutputsFileError, StackOutputs, canary_subjects_from, load_stacks
from drill.targets.base import Names, Regions, Target, checksum
from drill.targets.local import LOCAL_REPLICATION_DELAY_MS, LocalTarget, demo_subjects, local_target

__all__ = [
    "LOCAL_REPLICATION_DELAY_MS",
    "Access",
    "AwsTarget",
    "LocalTarget",
    "Names",
    "OutputsFileError",
    "Regions",
    "StackOutputs",
    "Target",
    "canary_subjects_from",
    "checksum",
    "demo_subjects",
    "load_stacks",
    "local_target",
]
