"""Semi-supervised GAN (Odena 2016; Salimans et al. 2016): D is a (K+1)-way classifier, the
K data classes plus "generated". It learns the classes from a small labelled subset and the
rest of the data from the GAN game, and is then scored as a classifier on held-out data."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ganforge.sdk import Batch, GanforgeError, Generated, LabelledData, Logs, Nets, current_world, generator_adversarial, rank_rand
from ganforge_classic.objectives import Unconditional, check_aux


def balanced_subset(labels: Tensor, size: int, classes: int, seed: int,
                    who: str = "the semi-supervised objective") -> Tensor:
    """Indices of ``size`` items, as evenly spread over the classes as the data allows (the
    same for a given seed); ``who`` names the component in the error when a class has too few."""
    generator = torch.Generator().manual_seed(seed)
    per_class = [torch.nonzero(labels == k).flatten() for k in range(classes)]
    per_class = [idx[torch.randperm(len(idx), generator=generator)] for idx in per_class]
    chosen: list[Tensor] = []
    want = [size // classes + (1 if k < size % classes else 0) for k in range(classes)]
    for k, idx in enumerate(per_class):
        if len(idx) < want[k]:
            raise GanforgeError(f"{who} wants {want[k]} labelled examples of class {k} "
                                f"but the data has {len(idx)}; lower `labels`")
        chosen.append(idx[: want[k]])
    return torch.cat(chosen).sort().values


class LabelledSubset:
    """The labelled examples of a semi-supervised game: a class-balanced subset of ``size`` items
    of the data, fixed by the seed, and batches drawn from it with replacement, each rank its
    share of ``batch`` items. Built without data (a run rebuilt to sample or evaluate), it holds
    nothing and drawing from it is an error naming ``who``."""

    def __init__(self, data: Any, size: int, classes: int, seed: int, batch: int, who: str):
        self.batch, self.who = batch, who
        self.x: Tensor | None = None
        self.y: Tensor | None = None
        if data is None:
            return
        if size > len(data):
            raise GanforgeError(f"labels: {size} is more than the {len(data)} items of the data")
        items = [data[int(i)] for i in balanced_subset(labels_of(data), size, classes, seed, who)]
        self.x = torch.stack([item["x"] for item in items])
        self.y = torch.stack([torch.as_tensor(item["y"]) for item in items]).long()

    def draw(self, device: torch.device) -> tuple[Tensor, Tensor]:
        """A batch drawn with replacement: (images, labels), this rank's share."""
        if self.x is None:
            raise GanforgeError(f"{self.who} was built without data; it can generate and classify but not train")
        n = max(1, self.batch // current_world().size)
        index = (rank_rand(n) * len(self.x)).long().clamp_(max=len(self.x) - 1)
        return self.x[index].to(device), self.y[index].to(device)


def labels_of(data: Any) -> Tensor:
    """Every item's label: the adapter's ``labels`` array when it has one, else item by item."""
    if isinstance(data, LabelledData) and data.labels is not None:
        return torch.as_tensor(data.labels).long().flatten()
    return torch.tensor([int(data[i]["y"]) for i in range(len(data))])


class SemiSupervised(Unconditional):
    """D's auxiliary head gives K class logits l_k and its main output the "generated" logit
    l_fake, so p(real | x) = sum_k exp(l_k) / (sum_k exp(l_k) + exp(l_fake)): the real/fake
    logit fed to ``losses.adversarial`` is logsumexp(l) - l_fake. D also minimises the
    cross-entropy of the classes on a batch from the labelled subset. G matches the mean of
    D's last hidden features on real data (feature matching) or, with
    ``feature_matching: false``, plays the adversarial loss."""

    name = "semi-supervised"

    def __init__(self, params, ctx):
        super().__init__(params, ctx)
        self.classes = ctx.data_info.num_classes
        if not self.classes:
            raise GanforgeError("the semi-supervised objective needs labelled data (data with classes, such as "
                                "npz with `labels:`); only `labels` of them are used as labels")
        check_aux(ctx.nets[params.discriminator], params.discriminator, self.classes, self.name,
                  "one logit per class of the data")
        self.supervised_weight = params.supervised_weight
        self.feature_matching = params.feature_matching
        self.subset = LabelledSubset(ctx.data, params.labels, self.classes, ctx.seed, params.labelled_batch,
                                     "the semi-supervised objective")

    @staticmethod
    def real_logit(outputs: tuple[Tensor, Tensor]) -> Tensor:
        fake_class, classes = outputs
        return torch.logsumexp(classes.float(), 1) - fake_class.float()

    def discriminator_loss(self, nets: Nets, batch: Batch, generated: Generated | None = None) -> tuple[Tensor, Logs]:
        d = nets[self.discriminators[0]]
        real = batch["x"]  # its labels are not used: only the labelled subset's are
        fake = self.fake(nets, batch, generated)
        real_logits, fake_logits = self.real_logit(d(real)), self.real_logit(d(fake))
        unsupervised = self.adversarial.discriminator(real_logits, fake_logits)
        x, y = self.subset.draw(real.device)
        classes = d(x)[1].float()
        supervised = F.cross_entropy(classes, y)
        loss = unsupervised + self.supervised_weight * supervised
        logs = {"d/real": real_logits.detach().mean(), "d/fake": fake_logits.detach().mean(),
                "d/loss_unsupervised": unsupervised.detach(), "d/loss_supervised": supervised.detach(),
                "d/accuracy_labelled": (classes.argmax(1) == y).float().mean()}
        loss = self.regularise(loss, logs, lambda x: self.real_logit(d(x)), real, fake)
        logs["d/loss"] = loss.detach()
        return loss, logs

    def generator_loss(self, nets: Nets, batch: Batch, generated: Generated | None = None) -> tuple[Tensor, Logs]:
        d = nets[self.discriminators[0]]
        real = batch["x"]
        fake = (generated or self.generate(nets, batch))["fake"]
        if self.feature_matching:
            with torch.no_grad():
                target = d.features(real).float().mean(0)
            loss = (d.features(fake).float().mean(0) - target).pow(2).mean()
        else:
            loss = generator_adversarial(self.adversarial, self.real_logit(d(fake)), lambda: self.real_logit(d(real)))
        return loss, {"g/loss": loss.detach()}

    def classify(self, nets: Nets, x: Tensor) -> Tensor:
        """D's K class logits."""
        return nets[self.discriminators[0]](x)[1]
