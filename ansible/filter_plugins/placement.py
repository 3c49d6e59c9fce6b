"""Ansible filters from the project's own code (the controller runs the project's venv)."""

from swarmspawner_deploy.placement import images_for


class FilterModule:
    def filters(self):
        # node | swarmspawner_images_for(images, everything): the image names a node may run.
        return {"swarmspawner_images_for": images_for}
