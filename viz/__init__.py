"""viz: pictures of computation graphs, backward passes, networks and training."""
