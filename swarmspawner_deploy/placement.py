"""Which nodes get which image: the playbook puts each image only where it may run (a GPU
profile's image on the GPU nodes, not on every worker)."""

from swarmspawner.placement import matches


def images_for(node, images, everything=False):
    """The names of the images a node may run: ``images`` is swarmspawner-env's IMAGES list,
    each image with the placements it runs under (any one of them will do)."""
    return [image["name"] for image in images
            if everything or any(matches(p, node) for p in image["placements"])]
