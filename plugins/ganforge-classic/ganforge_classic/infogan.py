"""InfoGAN (Chen et al. 2016): part of G's input is a structured code (categorical and
continuous) and a Q head, sharing D's trunk, recovers it from the sample; maximising this
lower bound on the mutual information makes the code control interpretable factors."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ganforge.sdk import (
    Batch, GanforgeError, Generated, Logs, Nets, generator_adversarial, rank_rand, rank_randn, truncated_normal,
)
from ganforge_classic.objectives import Unconditional, check_aux, random_classes


class InfoGAN(Unconditional):
    """G(z) with z = [noise, one-hot categorical codes, continuous codes in [-1, 1]]; D returns
    a real/fake logit and Q's outputs (``aux_outputs``: the categorical logits, then one mean
    per continuous code). Q is trained in both phases; G in its phase."""

    name = "infogan"

    def __init__(self, params, ctx):
        super().__init__(params, ctx)
        self.categorical, self.continuous = tuple(params.categorical), params.continuous
        self.code_dim = sum(self.categorical) + self.continuous
        self.noise_dim = self.z_dim - self.code_dim
        if self.noise_dim < 1:
            raise GanforgeError(f"the generator's z_dim ({self.z_dim}) must exceed the code size {self.code_dim} "
                                f"(categorical {list(self.categorical)} + continuous {self.continuous}); z is "
                                f"noise plus codes, so set models.{params.generator}.z_dim: {self.code_dim + 62}")
        check_aux(ctx.nets[params.discriminator], params.discriminator, self.code_dim, self.name,
                  "a logit per categorical value plus a mean per continuous code")
        self.categorical_weight, self.continuous_weight = params.categorical_weight, params.continuous_weight

    def codes(self, n: int, device: torch.device) -> tuple[list[Tensor], Tensor]:
        categorical = [random_classes(n, k, device) for k in self.categorical]
        continuous = rank_rand(n, self.continuous, device=device) * 2 - 1
        return categorical, continuous

    def latent(self, noise: Tensor, categorical: list[Tensor], continuous: Tensor) -> Tensor:
        one_hot = [F.one_hot(c, k).to(noise.dtype) for c, k in zip(categorical, self.categorical)]
        return torch.cat([noise, *one_hot, continuous.to(noise.dtype)], 1)

    def information_loss(self, q: Tensor, categorical: list[Tensor], continuous: Tensor) -> tuple[Tensor, Logs]:
        """Negative log-likelihood of the codes under Q: cross-entropy for each categorical code,
        a unit-variance Gaussian (squared error) for the continuous ones."""
        q, start, logs = q.float(), 0, {}
        loss = q.new_zeros(())
        for index, (k, code) in enumerate(zip(self.categorical, categorical)):
            logits = q[:, start:start + k]
            loss = loss + self.categorical_weight * F.cross_entropy(logits, code)
            logs[f"q/accuracy_{index}"] = (logits.argmax(1) == code).float().mean().detach()
            start += k
        if self.continuous:
            loss = loss + self.continuous_weight * 0.5 * (q[:, start:] - continuous).pow(2).sum(1).mean()
        logs["q/loss"] = loss.detach()
        return loss, logs

    def generate(self, nets: Nets, batch: Batch) -> Generated:
        """Fakes with the codes they were made from (``categorical``: one column per code)."""
        n, device = len(batch["x"]), batch["x"].device
        categorical, continuous = self.codes(n, device)
        noise = rank_randn(n, self.noise_dim, device=device)
        fake = nets[self.generators[0]](self.latent(noise, categorical, continuous))
        columns = torch.stack(categorical, 1) if categorical else torch.zeros(n, 0, dtype=torch.long, device=device)
        return {"fake": fake, "categorical": columns, "continuous": continuous}

    @staticmethod
    def split(generated: Generated) -> tuple[list[Tensor], Tensor]:
        return list(generated["categorical"].unbind(1)), generated["continuous"]

    def discriminator_loss(self, nets: Nets, batch: Batch, generated: Generated | None = None) -> tuple[Tensor, Logs]:
        d = nets[self.discriminators[0]]
        real = batch["x"]
        if generated is None:
            with torch.no_grad():
                generated = self.generate(nets, batch)
        fake = generated["fake"].detach()
        categorical, continuous = self.split(generated)
        (real_logits, _), (fake_logits, q) = d(real), d(fake)
        information, logs = self.information_loss(q, categorical, continuous)
        loss = self.adversarial.discriminator(real_logits, fake_logits) + information
        logs.update({"d/real": real_logits.detach().mean(), "d/fake": fake_logits.detach().mean()})
        loss = self.regularise(loss, logs, lambda x: d(x)[0], real, fake)
        logs["d/loss"] = loss.detach()
        return loss, logs

    def generator_loss(self, nets: Nets, batch: Batch, generated: Generated | None = None) -> tuple[Tensor, Logs]:
        d = nets[self.discriminators[0]]
        generated = generated or self.generate(nets, batch)
        logits, q = d(generated["fake"])
        information, _ = self.information_loss(q, *self.split(generated))
        loss = generator_adversarial(self.adversarial, logits, lambda: d(batch["x"])[0]) + information
        return loss, {"g/loss": loss.detach(), "g/loss_info": information.detach()}

    def sample_inputs(self, n: int, generator: torch.Generator) -> dict[str, Tensor]:
        """The first categorical code cycles through its values (one per grid column when the
        grid is that wide); the other codes and the noise are random."""
        noise = torch.randn(n, self.noise_dim, generator=generator)
        categorical = [torch.arange(n) % self.categorical[0]] if self.categorical else []
        categorical += [torch.randint(k, (n,), generator=generator) for k in self.categorical[1:]]
        continuous = torch.rand(n, self.continuous, generator=generator) * 2 - 1
        return {"z": self.latent(noise, categorical, continuous)}

    def sample(self, nets: Nets, inputs: dict[str, Tensor]) -> Tensor:
        return nets[self.generators[0]](inputs["z"])

    def truncate(self, inputs: dict[str, Tensor], threshold: float, generator: torch.Generator) -> dict[str, Tensor]:
        """Only the noise columns: the codes keep their values."""
        z = inputs["z"].clone()
        z[:, : self.noise_dim] = truncated_normal(z[:, : self.noise_dim], threshold, generator)
        return {**inputs, "z": z}

    def classify(self, nets: Nets, x: Tensor) -> Tensor:
        """Q's logits for the first categorical code (match them to labels to score them)."""
        if not self.categorical:
            raise GanforgeError("this InfoGAN has no categorical code to classify with")
        return nets[self.discriminators[0]](x)[1][:, : self.categorical[0]]
