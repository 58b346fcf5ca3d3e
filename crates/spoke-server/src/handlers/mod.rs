pub mod associations;
pub mod objects;
pub mod properties;
pub mod search;
