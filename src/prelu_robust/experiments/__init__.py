"""Experiments: compose the core modules, read and write the results store,
return plain arrays for the plots. One module per figure."""
