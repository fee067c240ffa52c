"""Boundary-seeking GAN (Hjelm et al. 2018): the generator aims at D's decision boundary, where
D(x) = 1/2, since there ``p(x) = q(x) D(x) / (1 - D(x))`` is the data density.

Continuous data (section 2.2): G minimises ``1/2 (log D(G(z)) - log(1 - D(G(z))))^2``, which for
a sigmoid D is half the squared logit. Discrete data (section 2.3): G gives Bernoulli
probabilities, M binary samples are drawn per z, and G maximises their log-likelihood weighted
by the normalised importance weights ``D / (1 - D)`` = ``exp(logit)`` (a policy gradient that
needs no gradient through the samples)."""

from __future__ import annotations

import torch
from torch import Tensor

from ganforge.sdk import Batch, GanforgeError, Generated, Logs, Minimax, Nets, rank_rand
from ganforge_classic.objectives import Unconditional

EPS = 1e-6


class BoundarySeeking(Minimax):
    """D: binary cross-entropy; G: half the squared logit (zero on the boundary)."""

    def generator(self, fake: Tensor, real: Tensor | None = None) -> Tensor:
        return 0.5 * fake.float().pow(2).mean()


def boundary_seeking(params, ctx) -> BoundarySeeking:
    return BoundarySeeking(params.label_smoothing)


class DiscreteBGAN(Unconditional):
    """BGAN for black-and-white images: G's tanh output is the mean of each pixel (white with
    probability ``(t + 1) / 2``); D judges the binary samples drawn from it."""

    name = "bgan-discrete"
    takes_regularisers = False  # D sees M fakes per real: the penalties pair one real with one fake

    def __init__(self, params, ctx):
        super().__init__(params, ctx)
        self.samples = params.samples
        self.shape = tuple(ctx.data_info.shape)
        if not isinstance(self.adversarial, Minimax):
            raise GanforgeError("the bgan-discrete objective reads D's logit as a log importance weight, which holds for "
                                "a cross-entropy discriminator; set `losses.adversarial: boundary-seeking` (or "
                                "non-saturating / minimax)")
        if ctx.data is not None and len(ctx.data):
            first = ctx.data[0]["x"]
            if not bool(((first == 1) | (first == -1)).all()):
                raise GanforgeError("the bgan-discrete objective models black-and-white data, but the first data item "
                                    "has grey values; binarise it (for npz data: `data.binarize: 0.5`), or train "
                                    "continuous data with `objective: unconditional` and `losses.adversarial: "
                                    "boundary-seeking`")

    def generate(self, nets: Nets, batch: Batch) -> Generated:
        """Pixel probabilities for this rank's z, and ``samples`` binary draws from each."""
        n = len(batch["x"])
        mean = nets[self.generators[0]](self.noise(n, batch["x"].device))
        probs = ((mean.float() + 1) / 2).clamp(EPS, 1 - EPS)
        bits = (rank_rand(n, self.samples, *self.shape, device=mean.device) < probs[:, None]).float()
        return {"probs": probs, "bits": bits, "fake": (bits * 2 - 1).flatten(0, 1)}

    def generator_loss(self, nets: Nets, batch: Batch, generated: Generated | None = None) -> tuple[Tensor, Logs]:
        generated = generated or self.generate(nets, batch)
        probs, bits = generated["probs"], generated["bits"]
        n = len(probs)
        with torch.no_grad():  # the weights are constants of the policy gradient
            logits = nets[self.discriminators[0]](generated["fake"]).float().reshape(n, self.samples)
            weights = torch.softmax(logits, dim=1)
        pixels = probs[:, None]
        log_likelihood = (bits * pixels.log() + (1 - bits) * (1 - pixels).log()).flatten(2).mean(2)  # per pixel
        loss = -(weights * log_likelihood).sum(1).mean()
        effective = 1.0 / weights.pow(2).sum(1)  # effective sample size of the importance weights, 1..M
        return loss, {"g/loss": loss.detach(), "g/effective_samples": effective.mean()}

    def sample_inputs(self, n: int, generator: torch.Generator) -> dict[str, Tensor]:
        return {"z": torch.randn(n, self.z_dim, generator=generator),
                "u": torch.rand(n, *self.shape, generator=generator)}

    def sample(self, nets: Nets, inputs: dict[str, Tensor]) -> Tensor:
        """Binary images: each pixel white where its uniform draw ``u`` falls below its probability."""
        mean = nets[self.generators[0]](inputs["z"])
        u = inputs["u"] if "u" in inputs else torch.rand_like(mean)
        return torch.where(u.to(mean.device) < (mean + 1) / 2, 1.0, -1.0).to(mean.dtype)
