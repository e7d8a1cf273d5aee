//! The target kernel command line: assembly and handoff parameters.
