# DAMEX data layer for the Universal Object-Detection Benchmark (UODB): its
# 11 datasets as one mixture, each a COCO-format dataset in mmdet's layout
#
#   data/uodb/<name>/annotations/{train,val}.json   # COCO json, own classes
#   data/uodb/<name>/images/...                     # file_name is relative
#
# (conversion from the UODB release: configs/damex/README.md), merged into
# one label space; every sample carries dataset_id / dataset_name; COCO
# evaluation per dataset in its own label space plus the mean.
#
# mmengine joins configs along one `_base_` chain, so this data layer sits on
# mmdet's DINO-4scale R50 (DAMEX's dense baseline) and replaces only its
# data and its head's class count; the DAMEX config inherits it and
# overrides the decoder (MoE in layers 0/2/4). See configs/damex/README.md.
_base_ = 'mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py'
custom_imports = dict(imports=['mmdet_dynmoe'], allow_failed_imports=False)

data_root = 'data/uodb/'
_voc = ('aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat',
        'chair', 'cow', 'diningtable', 'dog', 'horse', 'motorbike', 'person',
        'pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor')
_watercolor = ('bicycle', 'bird', 'car', 'cat', 'dog', 'person')  # + comic
# Each dataset's own label set, in the order of its label ids; dict order
# is the mixture order (dataset_id).
uodb_classes = dict(
    kitti=('car', 'pedestrian', 'cyclist'),
    widerface=('face', ),
    voc=_voc,
    lisa=('warning', 'noturn', 'speedlimit', 'stop'),
    dota=('plane', 'baseball-diamond', 'bridge', 'ground-track-field',
          'small-vehicle', 'large-vehicle', 'ship', 'tennis-court',
          'basketball-court', 'storage-tank', 'soccer-ball-field',
          'roundabout', 'harbor', 'swimming-pool', 'helicopter'),
    coco=('person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train',
          'truck', 'boat', 'traffic light', 'fire hydrant', 'stop sign',
          'parking meter', 'bench', 'bird', 'cat', 'dog', 'horse', 'sheep',
          'cow', 'elephant', 'bear', 'zebra', 'giraffe', 'backpack',
          'umbrella', 'handbag', 'tie', 'suitcase', 'frisbee', 'skis',
          'snowboard', 'sports ball', 'kite', 'baseball bat', 'baseball glove',
          'skateboard', 'surfboard', 'tennis racket', 'bottle', 'wine glass',
          'cup', 'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple',
          'sandwich', 'orange', 'broccoli', 'carrot', 'hot dog', 'pizza',
          'donut', 'cake', 'chair', 'couch', 'potted plant', 'bed',
          'dining table', 'toilet', 'tv', 'laptop', 'mouse', 'remote',
          'keyboard', 'cell phone', 'microwave', 'oven', 'toaster', 'sink',
          'refrigerator', 'book', 'clock', 'vase', 'scissors', 'teddy bear',
          'hair drier', 'toothbrush'),
    watercolor=_watercolor,
    clipart=_voc,
    comic=_watercolor,
    kitchen=('coca_cola_glass_bottle', 'coffee_mate_french_vanilla',
             'honey_bunches_of_oats_honey_roasted', 'hunts_sauce',
             'mahatma_rice',
             'nature_valley_soft_baked_oatmeal_squares_cinnamon_brown_sugar',
             'nature_valley_sweet_and_salty_nut_almond', 'palmolive_orange',
             'pop_secret_light_butter', 'pringles_bbq', 'red_bull'),
    deeplesion=('lesion', ))
# COCO names of VOC classes: the same objects, so one unified id each.
uodb_synonyms = {
    'airplane': 'aeroplane',
    'motorcycle': 'motorbike',
    'dining table': 'diningtable',
    'couch': 'sofa',
    'potted plant': 'pottedplant',
    'tv': 'tvmonitor'
}


def _merged_label_space(classes, synonyms):
    """{name: unified id}: equal names and listed synonyms share an id."""
    table = {}
    for names in classes.values():
        for name in names:
            if name in table:
                continue
            if name in synonyms and synonyms[name] in table:
                table[name] = table[synonyms[name]]
            else:
                table[name] = len(set(table.values()))
    return table


# The merged label space: 114 unified classes (167 dataset classes; equal
# names merged, plus the 6 VOC/COCO synonyms). Everything else stays apart
# (KITTI pedestrian vs person, DOTA plane vs aeroplane: other viewpoints,
# other annotation rules). DAMEX reports a 178-class space; its merge rule is
# not published with the issue, so this one is ours.
label_space = _merged_label_space(uodb_classes, uodb_synonyms)
num_classes = len(set(label_space.values()))
model = dict(bbox_head=dict(
    num_classes=num_classes))  # DAMEX data: the merged UODB label space


def _uodb(name, split, pipeline):
    return dict(
        type='CocoDataset',
        data_root=f'{data_root}{name}/',
        ann_file=f'annotations/{split}.json',
        data_prefix=dict(img='images/'),
        metainfo=dict(classes=uodb_classes[name]),
        filter_cfg=dict(filter_empty_gt=False),  # as DINO's COCO recipe
        pipeline=pipeline)


train_dataloader = dict(
    # Mixed batches from all datasets, as DAMEX (samplers: see README).
    dataset=dict(
        _delete_=True,  # DAMEX data: the UODB mixture instead of COCO
        type='DatasetMixture',
        names=list(uodb_classes),
        label_space=label_space,
        datasets=[
            _uodb(n, 'train', {{_base_.train_pipeline}}) for n in uodb_classes
        ]))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,  # DAMEX data: the UODB mixture instead of COCO
        type='DatasetMixture',
        names=list(uodb_classes),
        label_space=label_space,
        datasets=[
            _uodb(n, 'val', {{_base_.test_pipeline}}) for n in uodb_classes
        ]))
test_dataloader = val_dataloader
# COCO evaluation per dataset in its own label space (as DAMEX), plus mean.
val_evaluator = dict(
    _delete_=True,
    type='PerDatasetMetric',
    metric=dict(type='CocoMetric', metric='bbox', format_only=False))
test_evaluator = val_evaluator
