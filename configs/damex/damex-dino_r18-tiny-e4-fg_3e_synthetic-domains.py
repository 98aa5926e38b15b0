# DAMEX with the routing loss on foreground queries only: the decoder queries
# the last layer's Hungarian matching pairs with a ground-truth box (the
# official DAMEX counts every decoder query).
_base_ = './damex-dino_r18-tiny-e4_3e_synthetic-domains.py'

model = dict(
    routing_loss_tokens='foreground',
    bbox_head=dict(type='DAMEXDINOHead'))  # records the matched queries
