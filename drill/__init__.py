"""DR drills: fail over, measure RPO and RTO, verify nothing acknowledged was lost, fail back."""
