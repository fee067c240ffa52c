"""Classic GANs for ganforge: MLP and DCGAN nets and the unconditional objective."""
