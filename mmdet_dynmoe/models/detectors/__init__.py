from .moe_detectors import MoEDeformableDETR, MoEDINO, MoEGroundingDINO

__all__ = ['MoEDINO', 'MoEDeformableDETR', 'MoEGroundingDINO']
