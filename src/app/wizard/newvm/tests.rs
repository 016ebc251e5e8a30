//! Unit tests of the new-VM wizard.
