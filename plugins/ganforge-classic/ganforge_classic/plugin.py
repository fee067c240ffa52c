"""Registration of the classic components. Imports no torch: factories are import strings."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from ganforge.sdk import HeldoutData, ObjectiveParams, Params, RecipePath, hookimpl
from ganforge_classic.examples import ganforge_kit_examples  # noqa: F401  (a hook implementation)


class MLPGeneratorParams(Params):
    """Fully connected generator (the PacGAN 2-D protocol uses 4 x 400, batch norm, ReLU, z of size 2)."""

    z_dim: int = Field(64, ge=1, le=4096, description="Latent size.")
    width: int = Field(400, ge=1, le=4096, description="Units per hidden layer.")
    depth: int = Field(4, ge=1, le=64, description="Hidden layers.")
    batch_norm: bool = Field(True, description="Batch norm after each hidden layer.")
    activation: Literal["relu", "leaky-relu", "tanh"] = Field("relu", description="Hidden activation.")
    conditional: bool = Field(False, description="Take a class label y too (a learned embedding joined to z); needs labelled data.")
    embed_dim: int | None = Field(None, ge=1, le=4096, description="Size of the label embedding (default: the number of classes).")


class MLPDiscriminatorParams(Params):
    """Fully connected discriminator (the PacGAN 2-D protocol uses 3 x 200 maxout with 5 pieces)."""

    width: int = Field(200, ge=1, le=4096, description="Units per hidden layer.")
    depth: int = Field(3, ge=1, le=64, description="Hidden layers.")
    activation: Literal["relu", "leaky-relu", "maxout"] = Field("leaky-relu", description="Hidden activation.")
    maxout_pieces: int = Field(5, ge=2, description="Pieces per maxout unit.")
    batch_norm: bool = Field(False, description="Batch norm after each hidden layer.")
    dropout: float = Field(0.0, ge=0, lt=1, description="Dropout after each hidden layer.")
    pack: int = Field(1, ge=1, description="PacGAN: judge this many samples at once (concatenated); 1 for a standard discriminator.")
    conditional: bool = Field(False, description="Take a class label y too (a learned embedding joined to the input); needs labelled data.")
    embed_dim: int | None = Field(None, ge=1, le=4096, description="Size of the label embedding (default: the number of classes).")
    aux_outputs: int = Field(0, ge=0, description="Outputs of an auxiliary head on the last hidden layer (ACGAN classes, InfoGAN codes, semi-supervised classes); 0 for none.")
    noise_std: float = Field(0.0, ge=0, description="Gaussian noise added to the input of each layer while training (Improved GAN).")


class JointMLPDiscriminatorParams(Params):
    """BiGAN/ALI discriminator: a fully connected net over a sample and a latent vector, D(x, z)."""

    z_dim: int = Field(..., ge=1, le=4096, description="Latent size (the generator's and the encoder's).")
    width: int = Field(1024, ge=1, le=4096, description="Units per hidden layer.")
    depth: int = Field(2, ge=1, le=64, description="Hidden layers.")
    activation: Literal["relu", "leaky-relu", "maxout"] = Field("leaky-relu", description="Hidden activation.")
    maxout_pieces: int = Field(5, ge=2, description="Pieces per maxout unit.")
    dropout: float = Field(0.2, ge=0, lt=1, description="Dropout after each hidden layer.")


class CodeDiscriminatorParams(Params):
    """Adversarial autoencoder's discriminator: a fully connected net over latent codes (the
    paper's MNIST nets: two layers of 1000 ReLU units)."""

    z_dim: int = Field(..., ge=1, le=4096, description="Code size (the encoder's and the decoder's).")
    width: int = Field(1000, ge=1, le=4096, description="Units per hidden layer.")
    depth: int = Field(2, ge=1, le=64, description="Hidden layers.")
    activation: Literal["relu", "leaky-relu", "maxout"] = Field("relu", description="Hidden activation.")
    maxout_pieces: int = Field(5, ge=2, description="Pieces per maxout unit.")
    dropout: float = Field(0.0, ge=0, lt=1, description="Dropout after each hidden layer.")
    conditional: bool = Field(False, description="See the item's class label too (the supervised AAE); needs labelled data.")
    embed_dim: int | None = Field(None, ge=1, le=4096, description="Size of the label embedding (default: the number of classes).")


class MLPEncoderParams(Params):
    """Fully connected encoder: a sample to a latent vector (BiGAN's E)."""

    z_dim: int = Field(..., ge=1, le=4096, description="Latent size (the generator's).")
    width: int = Field(1024, ge=1, le=4096, description="Units per hidden layer.")
    depth: int = Field(2, ge=1, le=64, description="Hidden layers.")
    activation: Literal["relu", "leaky-relu", "tanh"] = Field("leaky-relu", description="Hidden activation.")
    batch_norm: bool = Field(True, description="Batch norm after each hidden layer.")


class DCGANEncoderParams(Params):
    """DCGAN-style encoder: strided convolutions from an image to a latent vector."""

    z_dim: int = Field(..., ge=1, le=4096, description="Latent size (the generator's).")
    width: int = Field(64, ge=1, le=4096, description="Channels of the first layer (doubled per layer).")
    max_width: int = Field(512, ge=1, le=4096, description="Cap on channels per layer.")


class DCGANGeneratorParams(Params):
    """DCGAN generator: transposed convolutions doubling the side from 4x4 to the data's size."""

    z_dim: int = Field(100, ge=1, le=4096, description="Latent size.")
    width: int = Field(64, ge=1, le=4096, description="Channels of the last hidden layer (doubled per layer towards 4x4).")
    max_width: int = Field(512, ge=1, le=4096, description="Cap on channels per layer.")
    batch_norm: bool = Field(True, description="Batch norm in hidden layers.")
    conditional: bool = Field(False, description="Take a class label y too (a learned embedding joined to z); needs labelled data.")
    embed_dim: int | None = Field(None, ge=1, le=4096, description="Size of the label embedding (default: the number of classes).")


class DCGANDiscriminatorParams(Params):
    """DCGAN discriminator: strided convolutions halving the side down to 4x4, then one logit."""

    width: int = Field(64, ge=1, le=4096, description="Channels of the first layer (doubled per layer).")
    max_width: int = Field(512, ge=1, le=4096, description="Cap on channels per layer.")
    norm: Literal["batch", "spectral", "none"] = Field("batch", description="Normalisation of hidden layers.")
    pack: int = Field(1, ge=1, description="PacGAN: judge this many samples at once (concatenated); 1 for a standard discriminator.")
    conditional: bool = Field(False, description="Take a class label y too (embedding channels joined to the image); needs labelled data.")
    embed_dim: int | None = Field(None, ge=1, le=4096, description="Size of the label embedding (default: the number of classes).")
    aux_outputs: int = Field(0, ge=0, description="Outputs of an auxiliary head on the last features (ACGAN classes, InfoGAN codes, semi-supervised classes); 0 for none.")


class InfoGANGeneratorParams(Params):
    """InfoGAN's MNIST generator (Chen et al. 2016): two fully connected layers, then two
    transposed convolutions up to the data's size (a multiple of 4, such as 28)."""

    z_dim: int = Field(74, ge=1, le=4096, description="Latent size (noise plus the InfoGAN codes).")
    width: int = Field(64, ge=1, le=4096, description="Channels at half the image side (twice as many at a quarter).")
    fc_width: int = Field(1024, ge=1, le=4096, description="Units of the first fully connected layer.")


class InfoGANDiscriminatorParams(Params):
    """InfoGAN's MNIST discriminator: two strided convolutions and a fully connected layer shared
    by the real/fake logit and the Q head."""

    width: int = Field(64, ge=1, le=4096, description="Channels of the first convolution (twice as many in the second).")
    fc_width: int = Field(1024, ge=1, le=4096, description="Units of the shared fully connected layer.")
    aux_outputs: int = Field(0, ge=0, description="Outputs of the Q head (InfoGAN codes, ACGAN or semi-supervised classes); 0 for none.")
    aux_hidden: int = Field(128, ge=0, description="Hidden units of the Q head (batch norm, leaky ReLU); 0 for a single linear layer.")


class UnconditionalParams(ObjectiveParams):
    """The standard GAN game: G maps noise to samples, D tells them from data."""

    generator: str = Field("generator", description="Name of the generator in `models`.")
    discriminator: str = Field("discriminator", description="Name of the discriminator in `models`.")
    d_steps: int = Field(1, ge=1, description="Discriminator steps per generator step (k).")

    def required_models(self) -> dict[str, str]:
        return {self.generator: "generator", self.discriminator: "discriminator"}

    def required_losses(self) -> tuple[str, ...]:
        return ("adversarial",)


class WGANParams(UnconditionalParams):
    """WGAN with weight clipping: a Wasserstein critic trained d_steps times per G step."""

    d_steps: int = Field(5, ge=1, description="Critic steps per generator step (n_critic).")
    clip: float = Field(0.01, gt=0, description="Clip every critic weight to [-clip, clip] after each critic step.")


class ConditionalParams(UnconditionalParams):
    """Conditional GAN: G(z, y) and D(x, y) both see the class label."""


class ACGANParams(UnconditionalParams):
    """ACGAN: a conditional G, and a D that also classifies (aux_outputs: the number of classes)."""

    class_weight: float = Field(1.0, ge=0, description="Weight of the auxiliary classification loss.")


class InfoGANParams(UnconditionalParams):
    """InfoGAN: structured codes in G's input, recovered by a Q head (D's aux_outputs)."""

    categorical: list[int] = Field([10], description="Sizes of the categorical codes (one-hot in z).")
    continuous: int = Field(2, ge=0, description="Continuous codes, uniform in [-1, 1].")
    categorical_weight: float = Field(1.0, ge=0, description="Weight (lambda) of the categorical information term.")
    continuous_weight: float = Field(0.1, ge=0, description="Weight (lambda) of the continuous information term.")

    @field_validator("categorical")
    @classmethod
    def _sizes(cls, sizes: list[int]) -> list[int]:
        if any(k < 2 for k in sizes):
            raise ValueError("each categorical code needs at least 2 values")
        return sizes


class SemiSupervisedParams(UnconditionalParams):
    """Semi-supervised GAN: D classifies K classes plus 'generated' (aux_outputs: K), learning the
    classes from a labelled subset of the data."""

    labels: int = Field(100, ge=1, description="Size of the labelled subset (spread evenly over the classes, fixed by the seed).")
    labelled_batch: int = Field(100, ge=1, description="Labelled examples per discriminator step (drawn from the subset).")
    supervised_weight: float = Field(1.0, ge=0, description="Weight of the supervised cross-entropy.")
    feature_matching: bool = Field(True, description="G matches D's mean features on real data (Salimans et al.); false: G plays the adversarial loss.")


class BiGANParams(ObjectiveParams):
    """BiGAN/ALI: an encoder learns z from x; a joint discriminator judges (x, z) pairs."""

    generator: str = Field("generator", description="Name of the generator in `models`.")
    encoder: str = Field("encoder", description="Name of the encoder in `models`.")
    discriminator: str = Field("discriminator", description="Name of the joint discriminator in `models`.")
    d_steps: int = Field(1, ge=1, description="Discriminator steps per generator step (k).")

    def required_models(self) -> dict[str, str]:
        return {self.generator: "generator", self.encoder: "encoder", self.discriminator: "discriminator"}

    def required_losses(self) -> tuple[str, ...]:
        return ("adversarial",)


class DiscreteBGANParams(UnconditionalParams):
    """Boundary-seeking GAN for black-and-white images: G gives pixel probabilities, D judges
    binary samples, and G follows the importance-weighted policy gradient (Hjelm et al. 2018, 2.3)."""

    samples: int = Field(20, ge=2, le=1024, description="Binary samples drawn per z (M; the paper uses 20).")

    def required_losses(self) -> tuple[str, ...]:
        return ("adversarial",)


class BoundarySeekingParams(Params):
    """BGAN's loss (Hjelm et al. 2018, eq. 9): D as in the standard GAN, G aims at D's decision
    boundary by minimising half its squared logit."""

    label_smoothing: float = Field(0.0, ge=0, lt=0.5, description="One-sided smoothing of the real label.")


class CoupledNpzParams(Params):
    """CoGAN's two MNIST domains from one .npz: the images, and their edges or negatives, from
    disjoint halves of the data (no pair shows one image twice), side by side in each item."""

    path: RecipePath = Field(..., description=".npz file (relative to the recipe file).")
    images: str = Field("x_train", description="Array of images.")
    size: int = Field(32, ge=16, le=1024, description="Resize each domain's images to size x size (a power of two).")
    limit: int | None = Field(None, ge=2, description="Use only the first N images (N/2 per domain).")
    second: Literal["edges", "negative"] = Field(..., description="The second domain: stroke outlines (task A) or "
                                                                  "negatives (task B).")
    split_seed: int = Field(0, ge=0, description="Seed of the shuffle that splits the images between the domains.")


class CoupledGeneratorParams(Params):
    """CoGAN generator: DCGAN transposed convolutions shared by two domains, the last ones per domain."""

    z_dim: int = Field(100, ge=1, le=4096, description="Latent size.")
    width: int = Field(64, ge=1, le=4096, description="Channels of the last hidden layer (doubled per layer towards 4x4).")
    max_width: int = Field(512, ge=1, le=4096, description="Cap on channels per layer.")
    private_layers: int = Field(1, ge=1, le=16, description="Last layers each domain has its own copy of (the "
                                                            "paper shares all but the last).")


class CoupledDiscriminatorParams(Params):
    """CoGAN discriminator: the first strided convolutions per domain, the rest shared; a logit per domain."""

    width: int = Field(64, ge=1, le=4096, description="Channels of the first layer (doubled per layer).")
    max_width: int = Field(512, ge=1, le=4096, description="Cap on channels per layer.")
    private_layers: int = Field(1, ge=1, le=16, description="First layers each domain has its own copy of (the "
                                                            "paper's MNIST nets: the first).")


class CoGANParams(UnconditionalParams):
    """CoGAN: two GANs with shared weights learn a joint distribution from unpaired domains."""


class PixelAgreementParams(Params):
    """CoGAN's pixel agreement ratio of generated pairs."""

    mapping: Literal["edges", "negative"] = Field(..., description="How the second domain is made from the first "
                                                                   "(the data's `second`).")
    samples: int = Field(10_000, ge=1, description="Generated pairs scored.")


class AAEParams(ObjectiveParams):
    """Adversarial autoencoder: E and a decoder reconstruct the data while a discriminator on
    codes matches E's aggregated posterior to the prior."""

    encoder: str = Field("encoder", description="Name of the encoder in `models`.")
    decoder: str = Field("decoder", description="Name of the decoder (a generator) in `models`.")
    discriminator: str = Field("discriminator", description="Name of the code discriminator in `models`.")
    d_steps: int = Field(1, ge=1, description="Discriminator steps per encoder/decoder step.")
    prior: Literal["gaussian", "mixture"] = Field("gaussian", description="The prior the codes are matched to.")
    prior_std: float = Field(1.0, gt=0, le=100, description="Standard deviation of the Gaussian prior, and of the "
                                                            "mixture's components across the radius.")
    components: int = Field(10, ge=2, le=1000, description="Mixture components, evenly spaced on a circle in the "
                                                           "first two code dimensions.")
    radius: float = Field(4.0, gt=0, le=1000, description="Radius of the circle of mixture means.")
    radial_std: float = Field(1.0, gt=0, le=100, description="Standard deviation of each component along its radius.")
    supervised: bool = Field(False, description="Each item's label picks its mixture component, and the code "
                                                "discriminator sees the label (section 2.3); needs labelled data.")
    reconstruction_weight: float = Field(1.0, ge=0, description="Weight of the squared reconstruction error.")
    adversarial_weight: float = Field(1.0, ge=0, description="Weight of the adversarial term on E's codes.")

    def required_models(self) -> dict[str, str]:
        return {self.encoder: "encoder", self.decoder: "generator", self.discriminator: "discriminator"}

    def required_losses(self) -> tuple[str, ...]:
        return ("adversarial",)


class SemiSupervisedAAEParams(ObjectiveParams):
    """Semi-supervised adversarial autoencoder: class logits and a style code, each matched to
    its prior by its own discriminator, and the classes learned from a few labels."""

    encoder: str = Field("encoder", description="Name of the encoder in `models` (z_dim: classes + style size).")
    decoder: str = Field("decoder", description="Name of the decoder (a generator of z_dim classes + style) in `models`.")
    class_discriminator: str = Field("class_discriminator", description="Code discriminator of the softmax classes "
                                                                        "(z_dim: the number of classes).")
    style_discriminator: str = Field("style_discriminator", description="Code discriminator of the style (z_dim: its size).")
    d_steps: int = Field(1, ge=1, description="Discriminator steps per encoder/decoder step.")
    prior_std: float = Field(1.0, gt=0, le=100, description="Standard deviation of the style's Gaussian prior.")
    labels: int = Field(100, ge=1, description="Size of the labelled subset (spread evenly over the classes, fixed by the seed).")
    labelled_batch: int = Field(100, ge=1, description="Labelled items per encoder step (drawn from the subset).")
    supervised_weight: float = Field(1.0, ge=0, description="Weight of the cross-entropy on labelled items.")
    reconstruction_weight: float = Field(1.0, ge=0, description="Weight of the squared reconstruction error.")
    adversarial_weight: float = Field(1.0, ge=0, description="Weight of the two adversarial terms on E's codes.")

    def required_models(self) -> dict[str, str]:
        return {self.encoder: "encoder", self.decoder: "generator", self.class_discriminator: "discriminator",
                self.style_discriminator: "discriminator"}

    def required_losses(self) -> tuple[str, ...]:
        return ("adversarial",)


class HeldoutCodesParams(Params):
    """Held-out items to encode."""

    data: HeldoutData = Field(..., description="Held-out labelled data, as a data block (npz or image-folder).")
    samples: int = Field(10_000, ge=2, description="Held-out items encoded (at most the data).")


class PriorMatchParams(HeldoutCodesParams):
    """Unbiased squared MMD between the encoder's codes of held-out items and prior draws."""

    samples: int = Field(2000, ge=2, le=20_000, description="Held-out items encoded, and prior draws (the kernel "
                                                            "matrix grows with its square).")
    seed: int = Field(0, ge=0, description="Seed of the prior draws.")


@hookimpl
def ganforge_register_data(register):
    register("coupled-npz", params=CoupledNpzParams, factory="ganforge_classic.coupled:coupled_npz",
             summary="Two unpaired domains from one .npz (images; their edges or negatives), side by side (CoGAN).")


@hookimpl
def ganforge_register_evaluators(register):
    register("pixel-agreement", params=PixelAgreementParams, factory="ganforge_classic.coupled:PixelAgreement",
             summary="CoGAN's pixel agreement between the two images of generated pairs.")
    register("reconstruction-error", params=HeldoutCodesParams, factory="ganforge_classic.codes:ReconstructionError",
             summary="Squared and absolute error of decoder(E(x)) on held-out data (AAE, BiGAN).")
    register("prior-match", params=PriorMatchParams, factory="ganforge_classic.codes:PriorMatch",
             summary="Unbiased MMD^2 between encoder codes of held-out data and prior draws (AAE, BiGAN).")


@hookimpl
def ganforge_register_losses(register):
    register("boundary-seeking", params=BoundarySeekingParams,
             factory="ganforge_classic.boundary_seeking:boundary_seeking",
             summary="BGAN: D's cross-entropy; G minimises half the squared logit, seeking D's boundary.")


@hookimpl
def ganforge_register_generators(register):
    register("mlp-generator", params=MLPGeneratorParams, factory="ganforge_classic.mlp:MLPGenerator.build",
             summary="Fully connected generator for vectors or small images.")
    register("dcgan-generator", params=DCGANGeneratorParams, factory="ganforge_classic.dcgan:DCGANGenerator.build",
             summary="DCGAN generator for any power-of-two image size from 16 up.")
    register("coupled-generator", params=CoupledGeneratorParams, factory="ganforge_classic.coupled:CoupledGenerator.build",
             summary="CoGAN generator: shared DCGAN layers, the last per domain; pairs side by side.")
    register("infogan-generator", params=InfoGANGeneratorParams,
             factory="ganforge_classic.infogan_nets:InfoGANGenerator.build",
             summary="InfoGAN's MNIST generator: fully connected layers, then two transposed convolutions.")


@hookimpl
def ganforge_register_discriminators(register):
    register("mlp-discriminator", params=MLPDiscriminatorParams,
             factory="ganforge_classic.mlp:MLPDiscriminator.build",
             summary="Fully connected discriminator (ReLU, leaky ReLU or maxout).")
    register("dcgan-discriminator", params=DCGANDiscriminatorParams,
             factory="ganforge_classic.dcgan:DCGANDiscriminator.build",
             summary="DCGAN discriminator for any power-of-two image size from 16 up.")
    register("infogan-discriminator", params=InfoGANDiscriminatorParams,
             factory="ganforge_classic.infogan_nets:InfoGANDiscriminator.build",
             summary="InfoGAN's MNIST discriminator with a Q head on its shared fully connected layer.")
    register("coupled-discriminator", params=CoupledDiscriminatorParams,
             factory="ganforge_classic.coupled:CoupledDiscriminator.build",
             summary="CoGAN discriminator: the first layers per domain, the rest shared; a logit per domain.")
    register("code-discriminator", params=CodeDiscriminatorParams, factory="ganforge_classic.mlp:CodeDiscriminator.build",
             summary="Adversarial autoencoder's discriminator over latent codes (optionally with the label).")
    register("joint-mlp-discriminator", params=JointMLPDiscriminatorParams,
             factory="ganforge_classic.mlp:JointMLPDiscriminator.build",
             summary="BiGAN/ALI discriminator over (x, z) pairs.")


@hookimpl
def ganforge_register_encoders(register):
    register("mlp-encoder", params=MLPEncoderParams, factory="ganforge_classic.mlp:MLPEncoder.build",
             summary="Fully connected encoder from a sample to a latent vector.")
    register("dcgan-encoder", params=DCGANEncoderParams, factory="ganforge_classic.dcgan:DCGANEncoder.build",
             summary="Convolutional encoder from an image to a latent vector.")


@hookimpl
def ganforge_register_objectives(register):
    register("unconditional", params=UnconditionalParams, factory="ganforge_classic.objectives:Unconditional",
             summary="Unconditional GAN: k discriminator steps per generator step.")
    for name, params, factory, summary in [
        ("wgan", WGANParams, "objectives:WeightClippedWGAN", "WGAN: Wasserstein critic with weight clipping."),
        ("conditional", ConditionalParams, "conditional:Conditional", "Conditional GAN: both nets see the class label."),
        ("acgan", ACGANParams, "conditional:ACGAN", "ACGAN: conditional G, D with an auxiliary classifier."),
        ("infogan", InfoGANParams, "infogan:InfoGAN", "InfoGAN: latent codes recovered by a Q head (mutual information)."),
        ("semi-supervised", SemiSupervisedParams, "semi_supervised:SemiSupervised",
         "Semi-supervised GAN: a (K+1)-class discriminator learning from a labelled subset."),
        ("bigan", BiGANParams, "bigan:BiGAN", "BiGAN/ALI: an encoder trained jointly; D judges (x, z) pairs."),
        ("cogan", CoGANParams, "coupled:CoGAN", "CoGAN: two GANs sharing weights learn pairs from unpaired domains."),
        ("aae", AAEParams, "aae:AdversarialAutoencoder",
         "Adversarial autoencoder: reconstruction plus a code discriminator matching a prior."),
        ("aae-semi-supervised", SemiSupervisedAAEParams, "aae:SemiSupervisedAAE",
         "Semi-supervised AAE: class and style codes with their own priors, classes learned from a few labels."),
        ("bgan-discrete", DiscreteBGANParams, "boundary_seeking:DiscreteBGAN",
         "Boundary-seeking GAN for binary images: importance-weighted policy gradient over M samples per z."),
    ]:
        register(name, params=params, factory=f"ganforge_classic.{factory}", summary=summary)
