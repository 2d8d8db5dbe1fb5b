"""Pipeline transforms: decoding and packing, augmentation, mel images, clip features."""
