"""The serving file BI tools read: built from the warehouse, swapped in atomically."""
