//! Every reading the engine makes of the operating system, behind one interface with one
//! module per OS: thread and process CPU time, context switches, resident and peak memory,
//! free disk space, the usable CPUs, other processes' CPU and a child's CPU on exit. A figure
//! an OS cannot give is None with a reason, never 0.
