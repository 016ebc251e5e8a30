//! Live VNC preview in the terminal (being written).
