"""nn: neurons, layers, models, losses, optimisers and data, built from autograd_core Values."""
