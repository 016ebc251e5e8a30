//! volume XML (being written).
