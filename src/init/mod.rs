//! PID 1 duties.
