"""ganforge-editing: super-resolution (SRGAN) and image completion (context encoders)."""
